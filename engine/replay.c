/* replay.c — see replay.h.  Single-threaded; the output files are written
 * with stdio, one line per record. */
#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evtime.h"
#include "util.h"

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
} replay_t;

static void on_emit(void *opaque, const char *topic, const char *key, size_t keylen,
                    char *payload, size_t len)
{
    (void)key, (void)keylen;
    replay_t *r = opaque;
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
    free(payload);
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
    df_host_t host = {.emit = on_emit, .opaque = &r};
    df_graph_t *graphs[8];
    int ngraphs = 0;
    json_t *summary = NULL;
    char *list = xstrdup(pipelines);
    for (char *save, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        const pipeline_def_t *def = pipelines_find(name);
        if (!def) {
            snprintf(errstr, errstr_size, "unknown pipeline \"%s\"", name);
            goto out;
        }
        if (ngraphs < 8)
            graphs[ngraphs++] = def->build(&host, params);
    }
    /* One partition that is never idle: the watermark is the event time's. */
    for (int g = 0; g < ngraphs; g++) {
        df_graph_use_event_clock(graphs[g], true);
        evtime_set_thread_clock_us(0); /* until the first event time */
        df_graph_set_time(graphs[g], params->out_of_orderness_ms, INT64_MAX / 4);
        for (const char *const *t = df_graph_inputs(graphs[g]); *t; t++)
            df_graph_assign(graphs[g], *t, (int32_t[]){0}, 1, 0);
    }
    if (ngraphs == 0) {
        snprintf(errstr, errstr_size, "no pipeline given");
        goto out;
    }
    const char *topic = df_graph_inputs(graphs[0])[0];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    json_int_t records = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        for (int g = 0; g < ngraphs; g++) {
            /* Processing time in a replay is the event clock (state TTL uses it). */
            int64_t now = evtime_now_ms();
            /* Each pipeline reads the file as its own (first) input topic. */
            df_graph_push(graphs[g], df_graph_inputs(graphs[g])[0], 0, records, line, (size_t)n,
                          now);
            df_graph_tick(graphs[g], now);
        }
        records++;
    }
    free(line);
    for (int g = 0; g < ngraphs; g++)
        df_graph_finish(graphs[g]);
    evtime_set_thread_clock_us(EVTIME_REAL_CLOCK);
    if (r.failed) {
        snprintf(errstr, errstr_size, "%s", r.error);
        goto out;
    }
    json_t *outs = json_object();
    uint64_t dlq = 0, late = 0;
    for (int g = 0; g < ngraphs; g++) {
        for (const char *const *t = df_graph_outputs(graphs[g]); *t; t++) {
            if (df_graph_is_side_output(graphs[g], *t))
                continue;
            json_int_t c = 0;
            for (int i = 0; i < r.nout; i++)
                if (!strcmp(r.out[i].topic, *t))
                    c = r.out[i].count;
            json_object_set_new(outs, *t, json_integer(c));
        }
        dlq += df_graph_dlq_count(graphs[g]);
        late += df_graph_late_count(graphs[g]);
    }
    summary = json_pack("{s{sI}sosIsI}", "input", topic, records, "output", outs, "dlq",
                        (json_int_t)dlq, "late", (json_int_t)late);
out:
    for (int i = 0; i < r.nout; i++) {
        if (r.out[i].f)
            fclose(r.out[i].f);
        free(r.out[i].topic);
    }
    for (int g = 0; g < ngraphs; g++)
        df_graph_free(graphs[g]);
    free(list);
    if (in != stdin)
        fclose(in);
    return summary;
}
