/* assets.c — see assets.h. */
#include "assets.h"

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

int assets_find(const char *name, char *path, size_t size)
{
    char tried[1024] = "";
    const char *env = getenv("STREAMLAB_ASSETS");
    if (env && env[0]) {
        if (try(env, name, path, size) == 0)
            return 0;
        snprintf(tried, sizeof tried, "%s", path);
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *dir = dirname(exe); /* build/ */
        char cand[PATH_MAX + 16];
        snprintf(cand, sizeof cand, "%s/../assets", dir);
        if (try(cand, name, path, size) == 0)
            return 0;
        snprintf(tried + strlen(tried), sizeof tried - strlen(tried), "%s%s", tried[0] ? ", " : "", path);
        snprintf(cand, sizeof cand, "%s/assets", dir);
        if (try(cand, name, path, size) == 0)
            return 0;
        snprintf(tried + strlen(tried), sizeof tried - strlen(tried), ", %s", path);
    }
    if (try("/usr/share/streamlab/assets", name, path, size) == 0)
        return 0;
    snprintf(tried + strlen(tried), sizeof tried - strlen(tried), ", %s", path);
    snprintf(path, size, "%s", tried);
    return -1;
}
