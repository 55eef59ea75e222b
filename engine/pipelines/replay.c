/* replay.c — see replay.h.  Each pipeline runs as a job (job.h) with
 * params->workers threads; the output files are written with stdio, one line
 * per record, in the job's canonical order. */
#include "engine/pipelines/replay.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/evtime.h"
#include "engine/job.h"
#include "engine/util.h"

#define MAX_OUT 32

typedef struct replay {
    const char *dir;
    struct {
        char *topic;
        FILE *f;
        json_int_t count;
    } out[MAX_OUT];
    int nout;
    int failed;
    char error[4200];
    pthread_mutex_t lock; /* each pipeline's job emits from its own thread */
} replay_t;

static void on_emit(void *opaque, const char *topic, const char *key, size_t keylen,
                    char *payload, size_t len)
{
    (void)key, (void)keylen;
    replay_t *r = opaque;
    pthread_mutex_lock(&r->lock);
    int i = 0;
    while (i < r->nout && strcmp(r->out[i].topic, topic))
        i++;
    if (i == r->nout && r->nout < MAX_OUT) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.jsonl", r->dir, topic);
        r->out[i].topic = xstrdup(topic);
        r->out[i].f = fopen(path, "w");
        if (!r->out[i].f && !r->failed) {
            r->failed = 1;
            snprintf(r->error, sizeof r->error, "cannot write %s: %s", path, strerror(errno));
        }
        r->nout++;
    }
    if (i < r->nout && r->out[i].f) {
        fwrite(payload, 1, len, r->out[i].f);
        fputc('\n', r->out[i].f);
        r->out[i].count++;
    }
    pthread_mutex_unlock(&r->lock);
    free(payload);
}

/* Per operator: in, out, late, dlq (summed over the workers). */
static json_t *replay_metrics(df_job_t **jobs, int njobs)
{
    json_t *ops = json_array();
    df_op_metrics_t m[64];
    for (int k = 0; k < njobs; k++) {
        size_t n = df_job_metrics(jobs[k], m, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            json_array_append_new(ops, json_pack("{sssIsIsIsI}", "name", m[i].name, "in",
                                                 (json_int_t)m[i].in, "out", (json_int_t)m[i].out,
                                                 "late", (json_int_t)m[i].late, "dlq",
                                                 (json_int_t)m[i].dlq));
    }
    return ops;
}

json_t *replay_run(const char *file, const char *outdir, const char *pipelines,
                   pipeline_params_t *params, char *errstr, size_t errstr_size)
{
    FILE *in = strcmp(file, "-") ? fopen(file, "r") : stdin;
    if (!in) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", file, strerror(errno));
        return NULL;
    }
    if (mkdir(outdir, 0777) < 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "cannot create %s: %s", outdir, strerror(errno));
        if (in != stdin)
            fclose(in);
        return NULL;
    }
    replay_t r = {.dir = outdir};
    pthread_mutex_init(&r.lock, NULL);
    df_host_t host = {.emit = on_emit, .opaque = &r};
    df_job_t *jobs[8];
    int njobs = 0;
    json_t *summary = NULL;
    char *list = xstrdup(pipelines);
    for (char *save, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const pipeline_def_t *def = pipelines_find(name);
        if (!def) {
            snprintf(errstr, errstr_size, "unknown pipeline \"%s\"", name);
            goto out;
        }
        if (njobs < 8)
            jobs[njobs++] = pipeline_job(def, params, &host, true);
    }
    if (njobs == 0) {
        snprintf(errstr, errstr_size, "no pipeline given");
        goto out;
    }
    /* One partition that is never idle: the watermark is the event time's. */
    for (int k = 0; k < njobs; k++) {
        const df_graph_t *g = df_job_graph(jobs[k]);
        for (const char *const *t = df_graph_inputs(g); *t; t++)
            df_job_assign(jobs[k], *t, (int32_t[]){0}, 1, 0);
    }
    const char *topic = df_graph_inputs(df_job_graph(jobs[0]))[0];
    int64_t t0 = util_mono_us();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    json_int_t records = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        /* Each pipeline reads the file as its own (first) input topic. */
        for (int k = 0; k < njobs; k++)
            df_job_push(jobs[k], df_graph_inputs(df_job_graph(jobs[k]))[0], 0, records, line,
                        (size_t)n, 0, 0);
        records++;
    }
    free(line);
    for (int k = 0; k < njobs; k++)
        df_job_finish(jobs[k]);
    double elapsed = (util_mono_us() - t0) / 1e6;
    if (r.failed) {
        snprintf(errstr, errstr_size, "%s", r.error);
        goto out;
    }
    json_t *outs = json_object();
    uint64_t dlq = 0, late = 0;
    for (int k = 0; k < njobs; k++) {
        const df_graph_t *g = df_job_graph(jobs[k]);
        for (const char *const *t = df_graph_outputs(g); *t; t++) {
            if (df_graph_is_side_output(g, *t))
                continue;
            json_int_t c = 0;
            for (int i = 0; i < r.nout; i++)
                if (!strcmp(r.out[i].topic, *t))
                    c = r.out[i].count;
            json_object_set_new(outs, *t, json_integer(c));
        }
        dlq += df_job_dlq_count(jobs[k]);
        late += df_job_late_count(jobs[k]);
    }
    summary = json_pack("{s{sI}sosIsIsi}", "input", topic, records, "output", outs, "dlq",
                        (json_int_t)dlq, "late", (json_int_t)late, "workers",
                        df_job_workers(jobs[0]));
    json_object_set_new(summary, "operators", replay_metrics(jobs, njobs));
    json_object_set_new(summary, "processing_s", json_real(round(elapsed * 1000) / 1000));
    json_object_set_new(summary, "wall_s", json_real(round(elapsed * 10) / 10));
    json_object_set_new(summary, "rate", json_real(elapsed > 0 ? round(records / elapsed) : 0));
out:
    for (int k = 0; k < njobs; k++)
        df_job_free(jobs[k]);
    for (int i = 0; i < r.nout; i++) {
        if (r.out[i].f)
            fclose(r.out[i].f);
        free(r.out[i].topic);
    }
    pthread_mutex_destroy(&r.lock);
    free(list);
    if (in != stdin)
        fclose(in);
    return summary;
}
