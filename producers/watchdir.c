/* watchdir.c — see watchdir.h.  Polling instead of inotify: it works on every
 * file system (network mounts, bind mounts) and the stability rule needs a
 * timer anyway. */
#include "producers/watchdir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/util.h"

typedef struct seen {
    char *name;
    off_t size;
    struct timespec mtime;
    int64_t since_ms; /* when size and mtime last changed */
    bool present;
} seen_t;

struct watchdir {
    char *dir;
    watchdir_fn fn;
    void *opaque;
    seen_t *seen;
    size_t nseen;
    volatile sig_atomic_t stop;
};

watchdir_t *watchdir_new(const char *dir, watchdir_fn fn, void *opaque, char *errstr,
                         size_t errstr_size)
{
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(errstr, errstr_size, "%s is not a directory", dir);
        return NULL;
    }
    char sub[4096];
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, i ? ".failed" : ".sent");
        if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
            snprintf(errstr, errstr_size, "cannot make %s: %s", sub, strerror(errno));
            return NULL;
        }
    }
    watchdir_t *w = xcalloc(1, sizeof *w);
    w->dir = xstrdup(dir);
    w->fn = fn;
    w->opaque = opaque;
    return w;
}

void watchdir_free(watchdir_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nseen; i++)
        free(w->seen[i].name);
    free(w->seen);
    free(w->dir);
    free(w);
}

void watchdir_stop(watchdir_t *w) { w->stop = 1; }

static seen_t *find(watchdir_t *w, const char *name)
{
    for (size_t i = 0; i < w->nseen; i++)
        if (!strcmp(w->seen[i].name, name))
            return &w->seen[i];
    w->seen = xrealloc(w->seen, (w->nseen + 1) * sizeof *w->seen);
    w->seen[w->nseen] = (seen_t){.name = xstrdup(name), .size = -1};
    return &w->seen[w->nseen++];
}

static void move_to(watchdir_t *w, const char *name, const char *sub, const char *why)
{
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/%s", w->dir, name);
    snprintf(to, sizeof to, "%s/%s/%s", w->dir, sub, name);
    if (rename(from, to) < 0)
        util_log("watch: cannot move %s to %s: %s", from, to, strerror(errno));
    if (why) {
        snprintf(to, sizeof to, "%s/%s/%s.error", w->dir, sub, name);
        FILE *f = fopen(to, "w");
        if (f) {
            fprintf(f, "%s\n", why);
            fclose(f);
        }
    }
}

int watchdir_scan(watchdir_t *w)
{
    DIR *d = opendir(w->dir);
    if (!d)
        return 0;
    for (size_t i = 0; i < w->nseen; i++)
        w->seen[i].present = false;
    int handled = 0;
    int64_t now = util_mono_ms();
    struct dirent *e;
    while ((e = readdir(d)) && !w->stop) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", w->dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        seen_t *s = find(w, e->d_name);
        s->present = true;
        if (s->size != st.st_size || s->mtime.tv_sec != st.st_mtim.tv_sec ||
            s->mtime.tv_nsec != st.st_mtim.tv_nsec) {
            s->size = st.st_size;
            s->mtime = st.st_mtim;
            s->since_ms = now;
            continue;
        }
        if (now - s->since_ms < 1000)
            continue;
        char err[512] = "";
        if (w->fn(w->opaque, path, err, sizeof err) == 0)
            move_to(w, e->d_name, ".sent", NULL);
        else
            move_to(w, e->d_name, ".failed", err);
        s->present = false; /* gone from DIR now */
        handled++;
    }
    closedir(d);
    size_t k = 0; /* forget files that left */
    for (size_t i = 0; i < w->nseen; i++) {
        if (w->seen[i].present)
            w->seen[k++] = w->seen[i];
        else
            free(w->seen[i].name);
    }
    w->nseen = k;
    return handled;
}

void watchdir_run(watchdir_t *w)
{
    while (!w->stop) {
        watchdir_scan(w);
        for (int i = 0; i < 5 && !w->stop; i++)
            util_sleep_ms(100);
    }
}
