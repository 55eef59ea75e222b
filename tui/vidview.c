/* vidview.c — see vidview.h. */
#include "tui/vidview.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

struct vidview {
    pthread_mutex_t lock;
    vidview_snapshot_t s; /* s.frame_b64 grows to the largest frame seen */
    size_t cap;
};

vidview_t *vidview_new(void)
{
    vidview_t *v = xcalloc(1, sizeof *v);
    pthread_mutex_init(&v->lock, NULL);
    return v;
}

void vidview_free(vidview_t *v)
{
    if (!v)
        return;
    pthread_mutex_destroy(&v->lock);
    free(v->s.frame_b64);
    free(v);
}

void vidview_on_input(vidview_t *v)
{
    pthread_mutex_lock(&v->lock);
    v->s.seen++;
    pthread_mutex_unlock(&v->lock);
}

void vidview_on_frame(vidview_t *v, const char *source, const char *frame_id, int w, int h,
                      const char *category, double brightness, double contrast,
                      double compression_ratio, const char *b64, size_t b64_len)
{
    pthread_mutex_lock(&v->lock);
    vidview_snapshot_t *s = &v->s;
    s->processed++;
    s->seq = s->processed;
    snprintf(s->source, sizeof s->source, "%s", source);
    snprintf(s->frame_id, sizeof s->frame_id, "%s", frame_id);
    snprintf(s->category, sizeof s->category, "%s", category);
    s->width = w;
    s->height = h;
    s->brightness = brightness;
    s->contrast = contrast;
    s->compression_ratio = compression_ratio;
    if (b64_len + 1 > v->cap) {
        v->cap = b64_len + 1;
        s->frame_b64 = xrealloc(s->frame_b64, v->cap);
    }
    memcpy(s->frame_b64, b64, b64_len);
    s->frame_b64[b64_len] = '\0';
    s->frame_len = b64_len;
    pthread_mutex_unlock(&v->lock);
}

void vidview_on_window(vidview_t *v, const vidview_window_t *w)
{
    pthread_mutex_lock(&v->lock);
    vidview_snapshot_t *s = &v->s;
    s->windows_fired++;
    int i = 0;
    while (i < s->nwindows && strcmp(s->windows[i].category, w->category))
        i++;
    if (i == s->nwindows && s->nwindows < VIDVIEW_CATEGORIES)
        s->nwindows++;
    if (i < s->nwindows && s->windows[i].end_ms <= w->end_ms)
        s->windows[i] = *w;
    pthread_mutex_unlock(&v->lock);
}

void vidview_snapshot(vidview_t *v, vidview_snapshot_t *out)
{
    char *buf = out->frame_b64;
    size_t len = out->frame_len;
    uint64_t have = out->seq;
    pthread_mutex_lock(&v->lock);
    const vidview_snapshot_t *s = &v->s;
    *out = *s;
    out->frame_b64 = buf;
    out->frame_len = len;
    if (s->seq != have && s->frame_b64) {
        out->frame_b64 = xrealloc(buf, s->frame_len + 1);
        memcpy(out->frame_b64, s->frame_b64, s->frame_len + 1);
        out->frame_len = s->frame_len;
    }
    pthread_mutex_unlock(&v->lock);
}

void vidview_snapshot_release(vidview_snapshot_t *s)
{
    free(s->frame_b64);
    s->frame_b64 = NULL;
    s->frame_len = 0;
    s->seq = 0;
}
