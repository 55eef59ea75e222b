/* assets.c — see assets.h. */
#include "tui/assets.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int try(const char *dir, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    return access(path, R_OK) == 0 ? 0 : -1;
}

static void note(char *tried, size_t size, const char *path)
{
    size_t n = strlen(tried);
    snprintf(tried + n, size - n, "%s%s", n ? ", " : "", path);
}

int assets_find(const char *name, char *path, size_t size)
{
    char tried[2048] = "";
    const char *env = getenv("STREAMLAB_ASSETS");
    if (env && env[0]) {
        if (try(env, name, path, size) == 0)
            return 0;
        note(tried, sizeof tried, path);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* The executable's directory and its parents: build/streamlab and
         * build/asan/streamlab both find the source tree's assets/. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", dirname(exe));
        for (int up = 0; up <= 3; up++) {
            char cand[PATH_MAX + 16];
            snprintf(cand, sizeof cand, "%s/assets", dir);
            if (try(cand, name, path, size) == 0)
                return 0;
            note(tried, sizeof tried, path);
            if (!strcmp(dir, "/"))
                break;
            char *parent = dirname(dir); /* may return a pointer into dir or a static "/" */
            memmove(dir, parent, strlen(parent) + 1);
        }
    }
    if (try("/usr/share/streamlab/assets", name, path, size) == 0)
        return 0;
    note(tried, sizeof tried, path);
    snprintf(path, size, "%s", tried);
    return -1;
}
