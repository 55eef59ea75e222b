/* fileview.c — see fileview.h.  One mutex, held only to copy small structs. */
#include "tui/fileview.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/pipelines/pipelines.h"
#include "engine/util.h"

struct fileview {
    pthread_mutex_t mu;
    fileview_snapshot_t s;
};

fileview_t *fileview_new(void)
{
    fileview_t *v = xcalloc(1, sizeof *v);
    pthread_mutex_init(&v->mu, NULL);
    return v;
}

void fileview_free(fileview_t *v)
{
    if (!v)
        return;
    pthread_mutex_destroy(&v->mu);
    free(v);
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int64_t num(const json_t *o, const char *k)
{
    double d = 0;
    df_json_number(json_object_get(o, k), &d);
    return (int64_t)d;
}

/* The entry for filename (moved to the front), made if missing.  Locked. */
static fileview_upload_t *entry(fileview_t *v, const char *filename)
{
    fileview_snapshot_t *s = &v->s;
    int i = 0;
    while (i < s->nrecent && strcmp(s->recent[i].filename, filename))
        i++;
    fileview_upload_t e = {0};
    if (i < s->nrecent) {
        e = s->recent[i];
    } else {
        snprintf(e.filename, sizeof e.filename, "%s", filename);
        if (s->nrecent < FILEVIEW_RECENT)
            s->nrecent++;
        i = s->nrecent - 1;
    }
    memmove(&s->recent[1], &s->recent[0], i * sizeof s->recent[0]);
    s->recent[0] = e;
    return &s->recent[0];
}

void fileview_on_processed(fileview_t *v, const json_t *rec)
{
    if (!v)
        return;
    const json_t *meta = json_object_get(rec, "metadata"), *a = json_object_get(rec, "analysis");
    pthread_mutex_lock(&v->mu);
    fileview_upload_t *e = entry(v, str(rec, "filename"));
    snprintf(e->file_type, sizeof e->file_type, "%s", str(rec, "file_type"));
    snprintf(e->size_category, sizeof e->size_category, "%s", str(a, "size_category"));
    e->size = e->done = num(rec, "file_size");
    e->state = FV_PROCESSED;
    if (!strcmp(e->file_type, "image"))
        snprintf(e->info, sizeof e->info, "%lldx%lld %lld ch %s", (long long)num(meta, "width"),
                 (long long)num(meta, "height"), (long long)num(meta, "channels"),
                 str(a, "image_quality"));
    else if (!strcmp(e->file_type, "video"))
        snprintf(e->info, sizeof e->info, "%lldx%lld %.4g fps %lld frames %s",
                 (long long)num(meta, "width"), (long long)num(meta, "height"),
                 json_number_value(json_object_get(meta, "fps")), (long long)num(meta, "frame_count"),
                 str(a, "video_quality"));
    else
        snprintf(e->info, sizeof e->info, "%s, %lld words", str(meta, "mime_type"),
                 (long long)num(a, "word_count"));
    snprintf(e->detail, sizeof e->detail, "processed %s", str(rec, "file_id"));
    v->s.processed++;
    pthread_mutex_unlock(&v->mu);
}

void fileview_on_type_totals(fileview_t *v, const json_t *rec)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->mu);
    fileview_snapshot_t *s = &v->s;
    const char *type = str(rec, "file_type");
    int i = 0;
    while (i < s->ntypes && strcmp(s->types[i].file_type, type))
        i++;
    if (i == s->ntypes && s->ntypes < 3)
        s->ntypes++;
    if (i < 3) {
        fileview_type_t *t = &s->types[i];
        snprintf(t->file_type, sizeof t->file_type, "%s", type);
        t->files = num(rec, "total_files");
        t->bytes = num(rec, "total_size_bytes");
        t->largest = num(rec, "largest_file_size");
        t->smallest = num(rec, "smallest_file_size");
    }
    pthread_mutex_unlock(&v->mu);
}

void fileview_on_window(fileview_t *v, const json_t *rec)
{
    if (!v)
        return;
    fileview_window_t w = {.files = num(rec, "total_files"), .bytes = num(rec, "total_size_bytes")};
    snprintf(w.category, sizeof w.category, "%s", str(rec, "size_category"));
    const char *s = str(rec, "window_start"), *e = str(rec, "window_end");
    evtime_parse(s, strlen(s), &w.start_ms);
    evtime_parse(e, strlen(e), &w.end_ms);
    pthread_mutex_lock(&v->mu);
    fileview_snapshot_t *sn = &v->s;
    /* The pipeline has one window per input topic: add up equal windows. */
    int i = 0;
    while (i < sn->nwindows && !(sn->windows[i].start_ms == w.start_ms &&
                                  !strcmp(sn->windows[i].category, w.category)))
        i++;
    if (i < sn->nwindows) {
        sn->windows[i].files += w.files;
        sn->windows[i].bytes += w.bytes;
    } else {
        if (sn->nwindows < FILEVIEW_WINDOWS)
            sn->nwindows++;
        memmove(&sn->windows[1], &sn->windows[0], (sn->nwindows - 1) * sizeof w);
        sn->windows[0] = w;
    }
    pthread_mutex_unlock(&v->mu);
}

void fileview_on_rejected(fileview_t *v, const json_t *d)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->mu);
    fileview_upload_t *e = entry(v, str(d, "filename"));
    snprintf(e->file_type, sizeof e->file_type, "%s", str(d, "file_type"));
    e->state = FV_FAILED;
    snprintf(e->detail, sizeof e->detail, "%s", str(d, "error"));
    v->s.rejected++;
    pthread_mutex_unlock(&v->mu);
}

void fileview_upload_progress(fileview_t *v, const char *filename, const char *file_type,
                              int64_t done, int64_t size, fileview_state_t state,
                              const char *detail)
{
    if (!v)
        return;
    pthread_mutex_lock(&v->mu);
    fileview_upload_t *e = entry(v, filename);
    if (file_type)
        snprintf(e->file_type, sizeof e->file_type, "%s", file_type);
    e->done = done;
    e->size = size;
    /* The engine may process a file before its upload has heard the last
     * delivery report (or while the uploader waits for the engine's commit):
     * "processed" is never taken back by progress. */
    if (e->state != FV_PROCESSED || state == FV_FAILED) {
        e->state = state;
        if (detail)
            snprintf(e->detail, sizeof e->detail, "%s", detail);
    }
    pthread_mutex_unlock(&v->mu);
}

void fileview_snapshot(fileview_t *v, fileview_snapshot_t *out)
{
    pthread_mutex_lock(&v->mu);
    *out = v->s;
    pthread_mutex_unlock(&v->mu);
}
