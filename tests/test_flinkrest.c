/* test_flinkrest.c — the Flink REST client (engine/flinkrest.c) and its poller
 * (engine/flinkmon.c) against replies recorded from a real Flink 2.2.1
 * (tests/fixtures/flinkrest/, see its README.md), served by a libmicrohttpd server
 * started here: each request is answered with the file named
 * flinkrest_fixture_name(method, path?query), NAME.json with 200 or NAME.STATUS.json with
 * that status, and anything else with 404.  Runs from the repository root (tests/run.sh
 * does), or with FLINKREST_FIXTURES set. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "engine/flink/flinkmon.h"
#include "engine/flink/flinkrest.h"
#include "engine/flink/httpjson.h"
#include "engine/util.h"
#include "testlib.h"

#define RUNNING_JOB "269df26fdd0c17f93e82912f431433e3"
#define CANCELED_JOB2 "7b0219d96537c6abf3752509f7751146"
#define CANCELED_JOB "469c2ceba0aa998f3f79e9f394baac2b"
#define SOURCE_VERTEX "cbc357ccb763df2852fee8c4fc7d55f2"
#define WINDOW_VERTEX "337adade1e207453ed3502e01d75fd03"

static struct MHD_Daemon *daemon_;
static char base[64];
static const char *fixtures;
static int requests; /* answered by the server; read after the calls return */

/* The raw URI with its query, before libmicrohttpd splits it. */
static void *log_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    return strdup(uri);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    (void)upload;
    *upload_size = 0;
    __atomic_add_fetch(&requests, 1, __ATOMIC_SEQ_CST);
    char name[256], path[1024];
    flinkrest_fixture_name(method, *con_cls ? (const char *)*con_cls : url, name, sizeof name);
    unsigned status = 200;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s.json", fixtures, name);
    char *body = slurp(path, &len);
    for (unsigned s = 300; !body && s < 600; s++) { /* NAME.404.json, NAME.500.json */
        snprintf(path, sizeof path, "%s/%s.%u.json", fixtures, name, s);
        if ((body = slurp(path, &len)) != NULL)
            status = s;
    }
    if (!body) {
        status = 404;
        body = strdup("{\"errors\":[\"Not found: no fixture\"]}");
        len = strlen(body);
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int start_server(void)
{
    httpjson_global_init();
    fixtures = getenv("FLINKREST_FIXTURES") ? getenv("FLINKREST_FIXTURES")
                                            : "tests/fixtures/flinkrest";
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                               0, NULL, NULL, answer, NULL, MHD_OPTION_URI_LOG_CALLBACK, log_uri,
                               NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                               MHD_OPTION_END);
    if (!daemon_)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)info->port);
    return 0;
}

static int stop_server(void)
{
    MHD_stop_daemon(daemon_);
    return 0;
}

/* A port with nothing listening: bind one, close it. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t n = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &n);
    close(fd);
    return ntohs(a.sin_port);
}

static flink_jobs_t jobs;

static void test_jobs_lists_running_job_first_then_cancelled(void)
{
    flinkrest_t *fr = flinkrest_new(base, 5000);
    char err[512] = "";
    CU_ASSERT_EQUAL_FATAL(flinkrest_jobs(fr, &jobs, err, sizeof err), 0);
    CU_ASSERT_EQUAL(jobs.njobs, 3);
    CU_ASSERT_EQUAL(jobs.more, 0);
    CU_ASSERT_STRING_EQUAL(jobs.jobs[0].id, RUNNING_JOB);
    CU_ASSERT_STRING_EQUAL(jobs.jobs[0].name, "transactions-twin-demo");
    CU_ASSERT_STRING_EQUAL(jobs.jobs[0].state, "RUNNING");
    CU_ASSERT_EQUAL(jobs.jobs[0].start_ms, 1795620813920LL);
    CU_ASSERT_EQUAL(jobs.jobs[0].duration_ms, 61233); /* the detail's, newer than the overview's */
    /* then the newest cancelled one first */
    CU_ASSERT_STRING_EQUAL(jobs.jobs[1].id, CANCELED_JOB2);
    CU_ASSERT_STRING_EQUAL(jobs.jobs[1].state, "CANCELED");
    CU_ASSERT_STRING_EQUAL(jobs.jobs[2].id, CANCELED_JOB);
    CU_ASSERT_STRING_EQUAL(jobs.jobs[2].name, "flinkrest-demo");
    CU_ASSERT(flinkrest_state_is_final(jobs.jobs[1].state));
    CU_ASSERT(!flinkrest_state_is_final(jobs.jobs[0].state));
    flinkrest_free(fr);
}

static void test_vertices_form_the_graph_source_first(void)
{
    const flink_job_t *j = &jobs.jobs[0];
    CU_ASSERT_EQUAL_FATAL(j->nvertices, 2);
    CU_ASSERT_STRING_EQUAL(j->v[0].id, SOURCE_VERTEX);
    CU_ASSERT_STRING_EQUAL(j->v[0].name, "Source: src[1] -> Calc[2] -> WatermarkAssigner[3] -> "
                                         "Calc[4] -> LocalWindowAggregate[5]");
    CU_ASSERT_EQUAL(j->v[0].depth, 0);
    CU_ASSERT_EQUAL(j->v[0].ninputs, 0);
    CU_ASSERT_EQUAL(j->v[0].parallelism, 2);
    CU_ASSERT_STRING_EQUAL(j->v[1].id, WINDOW_VERTEX);
    CU_ASSERT_EQUAL(j->v[1].depth, 1);
    CU_ASSERT_EQUAL(j->v[1].ninputs, 1);
    CU_ASSERT_EQUAL(j->v[1].inputs[0], 0);
    CU_ASSERT_STRING_EQUAL(j->v[1].status, "RUNNING");
}

static void test_source_vertex_counts_the_records_its_source_read(void)
{
    const flink_vertex_t *v = &jobs.jobs[0].v[0];
    CU_ASSERT(v->has_metrics);
    /* the task's numRecordsIn is 0; Source__src[1].numRecordsOut summed is 2750 */
    CU_ASSERT_EQUAL(v->in, 2750);
    CU_ASSERT_EQUAL(v->out, 758);
    CU_ASSERT_DOUBLE_EQUAL(v->in_rate, 42.9167, 0.001);
    CU_ASSERT_DOUBLE_EQUAL(v->out_rate, 11.45, 0.001);
    CU_ASSERT_EQUAL(jobs.jobs[0].v[1].in, 758); /* what the source vertex sent */
}

static void test_watermarks_are_the_slowest_subtask_and_none_is_not_a_time(void)
{
    /* the window vertex: currentInputWatermark, min over the subtasks */
    CU_ASSERT_EQUAL(jobs.jobs[0].v[1].watermark_ms, 1795620871779LL);
    /* the source vertex: what its WatermarkAssigner emits (the source operator's own
     * Long.MIN_VALUE does not count) */
    CU_ASSERT_EQUAL(jobs.jobs[0].v[0].watermark_ms, 1795620871779LL);
    /* a cancelled job has no metrics */
    CU_ASSERT(!jobs.jobs[1].v[0].has_metrics);
    CU_ASSERT_EQUAL(jobs.jobs[1].v[0].watermark_ms, FLINKREST_NO_WATERMARK);
}

static void test_backpressure_level_and_ratio(void)
{
    CU_ASSERT_STRING_EQUAL(jobs.jobs[0].v[0].backpressure, "ok");
    CU_ASSERT_STRING_EQUAL(jobs.jobs[0].v[1].backpressure, "ok");
    CU_ASSERT_DOUBLE_EQUAL(jobs.jobs[0].v[1].backpressure_ratio, 0.0, 1e-9);
    CU_ASSERT_STRING_EQUAL(jobs.jobs[1].v[0].backpressure, "");
}

static void test_json_gives_iso_watermarks_and_nulls(void)
{
    json_t *o = flinkrest_jobs_json(&jobs, base);
    json_t *j0 = json_array_get(json_object_get(o, "jobs"), 0);
    json_t *v1 = json_array_get(json_object_get(j0, "vertices"), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v1, "watermark")),
                           "2026-11-25T15:34:31.779Z");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v1, "records_in")), 758);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(v1, "inputs"), 0)),
                           SOURCE_VERTEX);
    json_t *j1 = json_array_get(json_object_get(o, "jobs"), 1);
    json_t *c0 = json_array_get(json_object_get(j1, "vertices"), 0);
    CU_ASSERT(json_is_null(json_object_get(c0, "records_in")));
    CU_ASSERT(json_is_null(json_object_get(c0, "watermark")));
    json_decref(o);
}

static void test_unknown_job_gives_flinks_message_without_java_names(void)
{
    flinkrest_t *fr = flinkrest_new(base, 5000);
    char err[512] = "";
    static flink_job_t job;
    CU_ASSERT_EQUAL(flinkrest_job(fr, "00000000000000000000000000000000", &job, err, sizeof err),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Job 00000000000000000000000000000000 not found"));
    CU_ASSERT_PTR_NULL(strstr(err, "org.apache"));
    err[0] = '\0';
    CU_ASSERT_EQUAL(flinkrest_cancel(fr, "00000000000000000000000000000000", err, sizeof err),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Could not find Flink job (00000000000000000000000000000000)"));
    flinkrest_free(fr);
}

static void test_no_answer_is_unreachable_not_an_error_from_flink(void)
{
    char url[64], err[512] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d", dead_port());
    flinkrest_t *fr = flinkrest_new(url, 2000);
    static flink_jobs_t none;
    CU_ASSERT_EQUAL(flinkrest_jobs(fr, &none, err, sizeof err), FLINKREST_UNREACHABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/jobs/overview"));
    CU_ASSERT_EQUAL(none.njobs, 0);
    flinkrest_free(fr);
}

static void test_a_reply_that_is_not_flinks_is_an_error(void)
{
    /* The fixture server answers 404 {"errors": [...]} for unknown paths: a REST API
     * under another prefix is an answer with an error, not "unreachable". */
    char url[128], err[512] = "";
    snprintf(url, sizeof url, "%s/not-flink", base);
    flinkrest_t *fr = flinkrest_new(url, 2000);
    static flink_jobs_t none;
    CU_ASSERT_EQUAL(flinkrest_jobs(fr, &none, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no fixture"));
    flinkrest_free(fr);
}

static flinkmon_snap_t snap;

/* Waits (bounded) for the poller to finish n polls. */
static void wait_polls(flinkmon_t *m, uint64_t n)
{
    for (int i = 0; i < 300; i++) {
        flinkmon_snapshot(m, &snap);
        if (snap.polls >= n)
            return;
        util_sleep_ms(50);
    }
}

static void test_poller_publishes_the_jobs(void)
{
    flinkmon_t *m = flinkmon_new(base, 200, 2000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    wait_polls(m, 2);
    CU_ASSERT(snap.polled);
    CU_ASSERT(snap.reachable);
    CU_ASSERT_STRING_EQUAL(snap.error, "");
    CU_ASSERT(snap.polls >= 2);
    CU_ASSERT_EQUAL(snap.jobs.njobs, 3);
    CU_ASSERT_EQUAL(snap.jobs.jobs[0].v[0].in, 2750);
    flinkmon_free(m);
}

static void test_poller_says_unreachable_and_keeps_retrying(void)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", dead_port());
    flinkmon_t *m = flinkmon_new(url, 200, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    wait_polls(m, 3);
    CU_ASSERT(snap.polled);
    CU_ASSERT(!snap.reachable);
    CU_ASSERT(snap.failures >= 3); /* it retried */
    CU_ASSERT_PTR_NOT_NULL(strstr(snap.error, "/jobs/overview"));
    CU_ASSERT_EQUAL(snap.jobs.njobs, 0);
    CU_ASSERT_STRING_EQUAL(snap.url, url);
    flinkmon_free(m);
}

static void test_fixture_names_are_safe_and_short(void)
{
    char name[256];
    flinkrest_fixture_name("PATCH", "/jobs/abc?mode=cancel", name, sizeof name);
    CU_ASSERT_STRING_EQUAL(name, "PATCH_jobs_abc_mode_cancel");
    char longpath[2048] = "/jobs/x/vertices/y/subtasks/metrics?get=";
    for (int i = 0; i < 40; i++)
        strcat(longpath, "Calc%5B4%5D.numRecordsIn,");
    flinkrest_fixture_name("GET", longpath, name, sizeof name);
    CU_ASSERT(strlen(name) < 160);
    char other[256];
    longpath[strlen(longpath) - 2] = 'X';
    flinkrest_fixture_name("GET", longpath, other, sizeof other);
    CU_ASSERT_STRING_NOT_EQUAL(name, other); /* the hash tells them apart */
}

static CU_TestInfo tests[] = {
    {"jobs lists the running job first, then the cancelled one",
     test_jobs_lists_running_job_first_then_cancelled},
    {"vertices form the graph, source first", test_vertices_form_the_graph_source_first},
    {"a source vertex counts the records its source read",
     test_source_vertex_counts_the_records_its_source_read},
    {"watermarks are the slowest subtask's; none is not a time",
     test_watermarks_are_the_slowest_subtask_and_none_is_not_a_time},
    {"backpressure level and ratio", test_backpressure_level_and_ratio},
    {"JSON gives ISO watermarks and nulls", test_json_gives_iso_watermarks_and_nulls},
    {"an unknown job gives Flink's message without Java names",
     test_unknown_job_gives_flinks_message_without_java_names},
    {"no answer is unreachable, not an error from Flink",
     test_no_answer_is_unreachable_not_an_error_from_flink},
    {"a reply that is not Flink's is an error", test_a_reply_that_is_not_flinks_is_an_error},
    {"the poller publishes the jobs", test_poller_publishes_the_jobs},
    {"the poller says unreachable and keeps retrying",
     test_poller_says_unreachable_and_keeps_retrying},
    {"fixture names are safe and short", test_fixture_names_are_safe_and_short},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("flinkrest", tests, start_server, stop_server)
