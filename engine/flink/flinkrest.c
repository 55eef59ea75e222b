/* flinkrest.c — see flinkrest.h. */
#include "engine/flink/flinkrest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/flink/httpjson.h"
#include "engine/util.h"

struct flinkrest {
    char *base;
    long timeout_ms;
    char *record_dir;
};

flinkrest_t *flinkrest_new(const char *base, long timeout_ms)
{
    flinkrest_t *fr = xcalloc(1, sizeof *fr);
    fr->base = xstrdup(base);
    fr->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    return fr;
}

void flinkrest_free(flinkrest_t *fr)
{
    if (!fr)
        return;
    free(fr->base);
    free(fr->record_dir);
    free(fr);
}

void flinkrest_record(flinkrest_t *fr, const char *dir)
{
    free(fr->record_dir);
    fr->record_dir = dir ? xstrdup(dir) : NULL;
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

void flinkrest_fixture_name(const char *method, const char *path, char *buf, size_t size)
{
    char name[4096];
    size_t n = 0;
    if (strcmp(method, "GET"))
        n = (size_t)snprintf(name, sizeof name, "%s", method);
    for (const char *c = path; *c && n + 1 < sizeof name; c++)
        name[n++] = isalnum((unsigned char)*c) ? *c : '_';
    name[n] = '\0';
    if (n <= 150) {
        snprintf(buf, size, "%s", name);
        return;
    }
    /* File names stop at 255 bytes: a long query keeps its start and a hash of all. */
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
    snprintf(buf, size, "%.120s_%016llx", name, (unsigned long long)h);
}

static void record_reply(const flinkrest_t *fr, const char *method, const char *path,
                         const json_t *reply, int status)
{
    if (!fr->record_dir || !reply)
        return;
    char name[256], file[1024];
    flinkrest_fixture_name(method, path, name, sizeof name);
    /* An error reply keeps its status in the name: NAME.404.json. */
    if (status >= 300)
        snprintf(file, sizeof file, "%s/%s.%d.json", fr->record_dir, name, status);
    else
        snprintf(file, sizeof file, "%s/%s.json", fr->record_dir, name);
    json_dump_file(reply, file, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
}

/* Drops the Java class names from Flink's error text: "org.apache....RestHandlerException:
 * Job could not be found.; Caused by: org....FlinkJobNotFoundException: Could not find
 * Flink job (...)" becomes "Job could not be found.; Could not find Flink job (...)". */
static void strip_java(char *s)
{
    char *out = s;
    const char *in = s;
    while (*in) {
        if (!strncmp(in, "Caused by: ", 11)) {
            in += 11;
            continue;
        }
        /* a word like a.b.C...Exception: at the start of a clause */
        const char *w = in;
        while (*w && (isalnum((unsigned char)*w) || *w == '.' || *w == '_' || *w == '$'))
            w++;
        if (w > in && !strncmp(w, ": ", 2) && memchr(in, '.', (size_t)(w - in)) &&
            (w - in > 9 && (!strncmp(w - 9, "Exception", 9) || !strncmp(w - 5, "Error", 5)))) {
            in = w + 2;
            continue;
        }
        /* copy up to the next clause ("; ") */
        const char *next = strstr(in, "; ");
        size_t n = next ? (size_t)(next - in) + 2 : strlen(in);
        memmove(out, in, n);
        out += n;
        in += n;
    }
    *out = '\0';
}

/* One request to base+path: the HTTP status (reply set, or NULL for an empty body) or
 * FLINKREST_UNREACHABLE (no answer) with err filled.  A 4xx/5xx with Flink's {"errors": [...]} comes back as -1 too,
 * with Flink's text (first lines and the last "Caused by") in err. */
static int call(flinkrest_t *fr, const char *method, const char *path, json_t **reply,
                char *err, size_t errlen)
{
    char *url = httpjson_url(fr->base, path);
    int status = httpjson_request(method, url, NULL, fr->timeout_ms, reply, err, errlen);
    free(url);
    if (status < 0)
        return FLINKREST_UNREACHABLE;
    record_reply(fr, method, path, *reply, status);
    if (status >= 400) {
        char text[1024];
        if (*reply && httpjson_error(*reply, 0, text, sizeof text)) {
            strip_java(text);
            snprintf(err, errlen, "%s", text);
        }
        else if (!err[0])
            snprintf(err, errlen, "%s %s: HTTP %d", method, path, status);
        json_decref(*reply);
        *reply = NULL;
        return -1;
    }
    return status;
}

static int64_t jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v))
        return (int64_t)json_real_value(v);
    if (json_is_string(v)) /* metrics come as strings: "1795618915559" */
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static double jnum(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v)) /* "NaN" and numbers as strings */
        return strtod(json_string_value(v), NULL);
    return 0;
}

int flinkrest_state_is_final(const char *s)
{
    return !strcmp(s, "FINISHED") || !strcmp(s, "CANCELED") || !strcmp(s, "FAILED") ||
           !strcmp(s, "SUSPENDED");
}

/* ---- one vertex's metrics ---- */

/* The operator part of an aggregated metric id "Source__src[1].numRecordsOut", or NULL
 * when the id is a task metric ("numRecordsOut"). */
static int is_op_metric(const char *id, const char *suffix)
{
    size_t n = strlen(id), m = strlen(suffix);
    return n > m + 1 && id[n - m - 1] == '.' && !strcmp(id + n - m, suffix);
}

/* Appends s to the query, with the bytes a URL cannot hold raw percent-encoded; an id
 * that does not fit whole is left out (Flink's request line is at most 4096 bytes). */
static void query_add(char *q, size_t size, const char *s)
{
    size_t n = strlen(q);
    if (n + 3 * strlen(s) + 2 > size)
        return;
    if (n && n + 1 < size && q[n - 1] != '=')
        q[n++] = ',';
    for (const unsigned char *c = (const unsigned char *)s; *c && n + 4 < size; c++) {
        if (isalnum(*c) || *c == '_' || *c == '.' || *c == '-')
            q[n++] = (char)*c;
        else
            n += (size_t)snprintf(q + n, size - n, "%%%02X", *c);
    }
    q[n] = '\0';
}

static void vertex_metrics(flinkrest_t *fr, const char *jid, flink_vertex_t *v, int is_source)
{
    char path[4096], err[256];
    json_t *list = NULL, *vals = NULL, *bp = NULL;
    snprintf(path, sizeof path, "/jobs/%s/vertices/%s/subtasks/metrics", jid, v->id);
    if (call(fr, "GET", path, &list, err, sizeof err) < 0 || !json_is_array(list))
        goto out;
    /* Ask only for metrics in the list: Flink answers [] to a list with one unknown. */
    char q[3072] = "";
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m) {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!id)
            continue;
        if (!strcmp(id, "numRecordsIn") || !strcmp(id, "numRecordsOut") ||
            !strcmp(id, "numRecordsInPerSecond") || !strcmp(id, "numRecordsOutPerSecond") ||
            !strcmp(id, "currentInputWatermark"))
            query_add(q, sizeof q, id);
        else if (is_source && !strncmp(id, "Source__", 8) &&
                 (is_op_metric(id, "numRecordsOut") || is_op_metric(id, "numRecordsOutPerSecond")))
            query_add(q, sizeof q, id);
        else if (is_source && is_op_metric(id, "currentOutputWatermark") &&
                 (!strncmp(id, "Source__", 8) || !strncmp(id, "WatermarkAssigner", 17)))
            query_add(q, sizeof q, id); /* where a source vertex's watermarks are made */
    }
    if (!q[0])
        goto out;
    snprintf(path, sizeof path, "/jobs/%s/vertices/%s/subtasks/metrics?get=%s&agg=min,sum", jid,
             v->id, q);
    if (call(fr, "GET", path, &vals, err, sizeof err) < 0 || !json_is_array(vals))
        goto out;
    v->has_metrics = 1;
    uint64_t src_in = 0;
    double src_rate = 0;
    int have_src = 0;
    int64_t wm = FLINKREST_NO_WATERMARK;
    json_array_foreach(vals, i, m) {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!id)
            continue;
        double sum = jnum(m, "sum");
        if (!strcmp(id, "numRecordsIn"))
            v->in = (uint64_t)sum;
        else if (!strcmp(id, "numRecordsOut"))
            v->out = (uint64_t)sum;
        else if (!strcmp(id, "numRecordsInPerSecond"))
            v->in_rate = sum;
        else if (!strcmp(id, "numRecordsOutPerSecond"))
            v->out_rate = sum;
        else if (!strcmp(id, "currentInputWatermark")) {
            /* the slowest subtask holds the vertex back; Long.MIN_VALUE = none yet
             * (min comes as a double, so test for "very negative", not equality) */
            double mn = jnum(m, "min");
            if (mn > 0 && !is_source)
                wm = (int64_t)mn;
        } else if (is_op_metric(id, "currentOutputWatermark")) {
            double mn = jnum(m, "min");
            if (mn > 0 && (wm == FLINKREST_NO_WATERMARK || (int64_t)mn > wm))
                wm = (int64_t)mn;
        } else if (is_op_metric(id, "numRecordsOutPerSecond")) {
            src_rate += sum;
        } else if (is_op_metric(id, "numRecordsOut")) {
            src_in += (uint64_t)sum;
            have_src = 1;
        }
    }
    if (is_source && have_src) {
        v->in = src_in;
        v->in_rate = src_rate;
    }
    v->watermark_ms = wm;
    snprintf(path, sizeof path, "/jobs/%s/vertices/%s/backpressure", jid, v->id);
    if (call(fr, "GET", path, &bp, err, sizeof err) >= 0 && json_is_object(bp)) {
        const char *level = json_string_value(json_object_get(bp, "backpressureLevel"));
        if (!level)
            level = json_string_value(json_object_get(bp, "backpressure-level"));
        /* "deprecated"/"" = not sampled yet: show nothing rather than a guess */
        const char *status = json_string_value(json_object_get(bp, "status"));
        if (level && status && !strcmp(status, "ok"))
            copy(v->backpressure, sizeof v->backpressure, level);
        double ratio = 0;
        json_t *st;
        json_array_foreach(json_object_get(bp, "subtasks"), i, st) {
            double r = jnum(st, "ratio");
            if (r > ratio)
                ratio = r;
        }
        v->backpressure_ratio = ratio;
    }
out:
    json_decref(list);
    json_decref(vals);
    json_decref(bp);
}

/* Fills the vertices of a job from its detail reply: names, parallelism, edges from
 * the plan, depths. */
static void parse_vertices(const json_t *detail, flink_job_t *j)
{
    size_t i;
    json_t *jv;
    j->nvertices = 0;
    json_array_foreach(json_object_get(detail, "vertices"), i, jv) {
        if (j->nvertices >= FLINKREST_MAX_VERTICES)
            break;
        flink_vertex_t *v = &j->v[j->nvertices++];
        memset(v, 0, sizeof *v);
        copy(v->id, sizeof v->id, json_string_value(json_object_get(jv, "id")));
        copy(v->name, sizeof v->name, json_string_value(json_object_get(jv, "name")));
        copy(v->status, sizeof v->status, json_string_value(json_object_get(jv, "status")));
        v->parallelism = (int)jint(jv, "parallelism");
        v->watermark_ms = FLINKREST_NO_WATERMARK;
    }
    /* Edges: plan.nodes[].inputs[].id name the vertices a node reads from. */
    json_t *node;
    json_array_foreach(json_object_get(json_object_get(detail, "plan"), "nodes"), i, node) {
        const char *id = json_string_value(json_object_get(node, "id"));
        int to = -1;
        for (int k = 0; id && k < j->nvertices; k++)
            if (!strcmp(j->v[k].id, id))
                to = k;
        if (to < 0)
            continue;
        size_t e;
        json_t *in;
        json_array_foreach(json_object_get(node, "inputs"), e, in) {
            const char *from = json_string_value(json_object_get(in, "id"));
            for (int k = 0; from && k < j->nvertices; k++)
                if (!strcmp(j->v[k].id, from) && j->v[to].ninputs < FLINKREST_MAX_INPUTS)
                    j->v[to].inputs[j->v[to].ninputs++] = k;
        }
    }
    /* Depth = longest path from a source; relax n times (the graph is a DAG). */
    for (int pass = 0; pass < j->nvertices; pass++)
        for (int k = 0; k < j->nvertices; k++)
            for (int e = 0; e < j->v[k].ninputs; e++) {
                int d = j->v[j->v[k].inputs[e]].depth + 1;
                if (d > j->v[k].depth && d < FLINKREST_MAX_VERTICES)
                    j->v[k].depth = d;
            }
    /* Topological order (stable by depth), keeping the input indexes right. */
    flink_vertex_t sorted[FLINKREST_MAX_VERTICES];
    int where[FLINKREST_MAX_VERTICES], n = 0;
    for (int d = 0; d < FLINKREST_MAX_VERTICES && n < j->nvertices; d++)
        for (int k = 0; k < j->nvertices; k++)
            if (j->v[k].depth == d) {
                where[k] = n;
                sorted[n++] = j->v[k];
            }
    for (int k = 0; k < n; k++)
        for (int e = 0; e < sorted[k].ninputs; e++)
            sorted[k].inputs[e] = where[sorted[k].inputs[e]];
    memcpy(j->v, sorted, (size_t)n * sizeof *sorted);
}

static void parse_overview_job(const json_t *o, flink_job_t *j)
{
    memset(j, 0, sizeof *j);
    copy(j->id, sizeof j->id, json_string_value(json_object_get(o, "jid")));
    copy(j->name, sizeof j->name, json_string_value(json_object_get(o, "name")));
    copy(j->state, sizeof j->state, json_string_value(json_object_get(o, "state")));
    j->start_ms = jint(o, "start-time");
    j->duration_ms = jint(o, "duration");
}

int flinkrest_job(flinkrest_t *fr, const char *jid, flink_job_t *out, char *err, size_t errlen)
{
    char path[256];
    json_t *detail = NULL;
    snprintf(path, sizeof path, "/jobs/%s", jid);
    int rc = call(fr, "GET", path, &detail, err, errlen);
    if (rc < 0)
        return rc;
    if (!json_is_object(detail)) {
        snprintf(err, errlen, "GET %s: not a job", path);
        json_decref(detail);
        return -1;
    }
    parse_overview_job(detail, out);
    parse_vertices(detail, out);
    json_decref(detail);
    if (strcmp(out->state, "RUNNING"))
        return 0;
    /* Flink's REST API fetches metrics from the taskmanagers only when asked (at most
     * every 10 s): the first request after a quiet spell finds none.  Ask again a few
     * times, briefly, for the vertices that came back empty. */
    for (int attempt = 0; attempt < 4; attempt++) {
        int missing = 0;
        for (int k = 0; k < out->nvertices; k++)
            if (!out->v[k].has_metrics && !strcmp(out->v[k].status, "RUNNING")) {
                vertex_metrics(fr, jid, &out->v[k], out->v[k].ninputs == 0);
                missing += !out->v[k].has_metrics;
            }
        if (!missing)
            break;
        if (attempt < 3)
            util_sleep_ms(300);
    }
    return 0;
}

/* RUNNING first, then the newest. */
static int job_order(const void *pa, const void *pb)
{
    const flink_job_t *a = pa, *b = pb;
    int ra = !strcmp(a->state, "RUNNING"), rb = !strcmp(b->state, "RUNNING");
    if (ra != rb)
        return rb - ra;
    return a->start_ms < b->start_ms ? 1 : a->start_ms > b->start_ms ? -1 : 0;
}

int flinkrest_jobs(flinkrest_t *fr, flink_jobs_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *ov = NULL;
    int rc = call(fr, "GET", "/jobs/overview", &ov, err, errlen);
    if (rc < 0)
        return rc;
    json_t *arr = json_object_get(ov, "jobs");
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "GET /jobs/overview: no \"jobs\" in the reply (is %s Flink's REST API?)",
                 fr->base);
        json_decref(ov);
        return -1;
    }
    /* Sort all of them first so that the cut keeps the running and newest ones. */
    size_t n = json_array_size(arr);
    flink_job_t *all = xcalloc(n ? n : 1, sizeof *all);
    for (size_t i = 0; i < n; i++)
        parse_overview_job(json_array_get(arr, i), &all[i]);
    json_decref(ov);
    qsort(all, n, sizeof *all, job_order);
    out->njobs = n > FLINKREST_MAX_JOBS ? FLINKREST_MAX_JOBS : (int)n;
    out->more = (int)n - out->njobs;
    for (int i = 0; i < out->njobs; i++) {
        char jerr[256];
        flink_job_t detail;
        out->jobs[i] = all[i];
        /* A job that went away between the two requests keeps its overview line. */
        if (flinkrest_job(fr, all[i].id, &detail, jerr, sizeof jerr) == 0)
            out->jobs[i] = detail;
    }
    free(all);
    return 0;
}

int flinkrest_cancel(flinkrest_t *fr, const char *jid, char *err, size_t errlen)
{
    char path[256];
    json_t *reply = NULL;
    snprintf(path, sizeof path, "/jobs/%s?mode=cancel", jid);
    int rc = call(fr, "PATCH", path, &reply, err, errlen);
    json_decref(reply);
    return rc < 0 ? rc : 0;
}

static json_t *wm_iso(int64_t ms)
{
    if (ms == FLINKREST_NO_WATERMARK || ms <= 0)
        return json_null();
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[96];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return json_string(buf);
}

json_t *flinkrest_jobs_json(const flink_jobs_t *jobs, const char *base)
{
    json_t *arr = json_array();
    for (int i = 0; i < jobs->njobs; i++) {
        const flink_job_t *j = &jobs->jobs[i];
        json_t *vs = json_array();
        for (int k = 0; k < j->nvertices; k++) {
            const flink_vertex_t *v = &j->v[k];
            json_t *ins = json_array();
            for (int e = 0; e < v->ninputs; e++)
                json_array_append_new(ins, json_string(j->v[v->inputs[e]].id));
            json_t *jv = json_object();
            json_object_set_new(jv, "id", json_string(v->id));
            json_object_set_new(jv, "name", json_string(v->name));
            json_object_set_new(jv, "status", json_string(v->status));
            json_object_set_new(jv, "parallelism", json_integer(v->parallelism));
            json_object_set_new(jv, "depth", json_integer(v->depth));
            json_object_set_new(jv, "inputs", ins);
            if (v->has_metrics) {
                json_object_set_new(jv, "records_in", json_integer((json_int_t)v->in));
                json_object_set_new(jv, "records_out", json_integer((json_int_t)v->out));
                json_object_set_new(jv, "records_in_per_s", json_real(v->in_rate));
                json_object_set_new(jv, "records_out_per_s", json_real(v->out_rate));
            } else {
                json_object_set_new(jv, "records_in", json_null());
                json_object_set_new(jv, "records_out", json_null());
                json_object_set_new(jv, "records_in_per_s", json_null());
                json_object_set_new(jv, "records_out_per_s", json_null());
            }
            json_object_set_new(jv, "watermark_ms",
                                v->watermark_ms == FLINKREST_NO_WATERMARK
                                    ? json_null()
                                    : json_integer(v->watermark_ms));
            json_object_set_new(jv, "watermark", wm_iso(v->watermark_ms));
            json_object_set_new(jv, "backpressure",
                                v->backpressure[0] ? json_string(v->backpressure) : json_null());
            json_object_set_new(jv, "backpressure_ratio", json_real(v->backpressure_ratio));
            json_array_append_new(vs, jv);
        }
        json_t *jj = json_object();
        json_object_set_new(jj, "id", json_string(j->id));
        json_object_set_new(jj, "name", json_string(j->name));
        json_object_set_new(jj, "state", json_string(j->state));
        json_object_set_new(jj, "start_time_ms", json_integer(j->start_ms));
        json_object_set_new(jj, "uptime_ms", json_integer(j->duration_ms));
        json_object_set_new(jj, "vertices", vs);
        json_array_append_new(arr, jj);
    }
    json_t *o = json_object();
    json_object_set_new(o, "rest", json_string(base));
    json_object_set_new(o, "jobs", arr);
    json_object_set_new(o, "more", json_integer(jobs->more));
    return o;
}
