/* cmd_flink_jobs.c — `streamlab flink jobs` (a Flink cluster's jobs, their vertices,
 * records, rates, watermarks and backpressure, from its REST API) and `streamlab flink
 * cancel` (cancel one and wait until it is CANCELED).  Both run on the calling thread;
 * the HTTP work is engine/flinkrest.c. */
#include <stdio.h>
#include <string.h>

#include "engine/flink/flinkrest.h"
#include "engine/util.h"
#include "tui/cli/cli.h"
#include "tui/cli/cmd_flink.h"
#include "tui/format.h"

#define DEFAULT_REST "http://127.0.0.1:8081"


/* "15:01:55.559" (UTC), or "-" when there is no watermark yet. */
static const char *wm_text(int64_t ms, char *buf, size_t size)
{
    if (ms == FLINKREST_NO_WATERMARK || ms <= 0)
        return "-";
    char c[16];
    snprintf(buf, size, "%s.%03d", fmt_clock(ms, c, sizeof c), (int)(ms % 1000));
    return buf;
}

static const char *uptime_text(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms / 1000;
    if (s < 3600)
        snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)(s % 60));
    else if (s < 86400)
        snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(s / 60 % 60));
    else
        snprintf(buf, size, "%dd%02dh", (int)(s / 86400), (int)(s / 3600 % 24));
    return buf;
}

static void print_table(const flink_jobs_t *jobs, const char *base)
{
    if (jobs->njobs == 0) {
        printf("no jobs on %s\n", base);
        return;
    }
    for (int i = 0; i < jobs->njobs; i++) {
        const flink_job_t *j = &jobs->jobs[i];
        char up[32];
        printf("%sJOB %s  %s  %s  up %s\n", i ? "\n" : "", j->id, j->name, j->state,
               uptime_text(j->duration_ms, up, sizeof up));
        if (j->nvertices == 0)
            continue;
        /* Numbers first, the vertex last: Flink's chain names are long, and whole. */
        printf("  %3s %8s %8s %7s %7s %-12s %-13s %s\n", "PAR", "IN", "OUT", "IN/s", "OUT/s",
               "WATERMARK", "BACKPRESSURE", "VERTEX");
        for (int k = 0; k < j->nvertices; k++) {
            const flink_vertex_t *v = &j->v[k];
            char c1[16], c2[16], c3[16], c4[16], wm[24], bp[32];
            if (v->backpressure[0])
                snprintf(bp, sizeof bp, "%s (%.0f%%)", v->backpressure,
                         v->backpressure_ratio * 100);
            else
                snprintf(bp, sizeof bp, "-");
            /* The graph as a tree: each vertex indented by its depth, "└▶" from its input. */
            int d = v->depth > 8 ? 8 : v->depth;
            if (v->has_metrics)
                printf("  %3d %8s %8s %7s %7s %-12s %-13s %*s%s%s\n", v->parallelism,
                       fmt_count((double)v->in, c1, sizeof c1),
                       fmt_count((double)v->out, c2, sizeof c2),
                       fmt_count(v->in_rate, c3, sizeof c3), fmt_count(v->out_rate, c4, sizeof c4),
                       wm_text(v->watermark_ms, wm, sizeof wm), bp, d, "",
                       d ? "\xE2\x94\x94\xE2\x96\xB6" : "", v->name);
            else
                printf("  %3d %8s %8s %7s %7s %-12s %-13s %*s%s%s\n", v->parallelism, "-", "-",
                       "-", "-", "-", v->status, d, "", d ? "\xE2\x94\x94\xE2\x96\xB6" : "",
                       v->name);
        }
    }
    if (jobs->more)
        printf("\n(%d more jobs not shown)\n", jobs->more);
}

/* What both commands take. */
typedef struct jobs_args {
    const char *base, *record;
    long timeout_ms;
    bool json;
    double wait_s;
} jobs_args_t;

static int set_timeout(void *args, const char *cmd, const char *opt, const char *arg)
{
    double t;
    if (cli_number(cmd, opt, arg, &t) < 0)
        return -1;
    if (t <= 0) {
        cli_error(cmd, "--timeout must be > 0");
        return -1;
    }
    ((jobs_args_t *)args)->timeout_ms = (long)(t * 1000);
    return 0;
}

#define A(field) offsetof(jobs_args_t, field)
#define REST_OPT                                                                                   \
    {"rest", 0, CLI_STRING, A(base), .arg = "URL",                                                \
     .help = "the jobmanager's REST API (default " DEFAULT_REST ")"}
#define TIMEOUT_OPT                                                                                \
    {"timeout", 0, CLI_CUSTOM, .set = set_timeout, .arg = "S",                                     \
     .help = "give up on each request after S seconds (default 5)"}
#define RECORD_OPT                                                                                 \
    {"record", 0, CLI_STRING, A(record), .arg = "DIR",                                             \
     .help = "also save every REST reply in DIR (for test fixtures)"}

static const cli_table_t jobs_table = {
    20, (const cli_opt_t[]){
            REST_OPT,
            {"json", 0, CLI_FLAG, A(json), .help = "one JSON object for scripts instead of the table"},
            TIMEOUT_OPT,
            RECORD_OPT,
            {"help", 'h', CLI_HELP, .help = "this help"},
            {.kind = CLI_TEXT,
             .help = "\nExit status: 0, 2 when the REST API does not answer, 1 on an error from "
                     "Flink.\n"},
            {0}}};

static const cli_table_t cancel_table = {
    20, (const cli_opt_t[]){
            REST_OPT,
            {"wait", 0, CLI_NUMBER, A(wait_s), .arg = "S",
             .help = "wait at most S seconds for the final state (default 30)"},
            TIMEOUT_OPT,
            RECORD_OPT,
            {"help", 'h', CLI_HELP, .help = "this help"},
            {.kind = CLI_TEXT,
             .help = "\n"
                     "Exit status: 0 when the job ends CANCELED (also when it already was), 1 when Flink\n"
                     "refuses (e.g. an unknown job id) or the job ends FINISHED or FAILED instead or is\n"
                     "not final in time, 2 for a malformed JOB_ID or when the REST API does not answer.\n"},
            {0}}};
#undef A

static const cli_cmd_t jobs_cmd = {
    .name = "flink jobs",
    .usage =
    "usage: streamlab flink jobs --rest URL [--json] [--timeout S]\n"
    "\n"
    "Lists the jobs of a Flink cluster from its REST API: id, name, state and uptime,\n"
    "and for each vertex (a chain of operators run as one task, sources first): its\n"
    "parallelism, records in and out (summed over the subtasks), records/s (Flink's\n"
    "one-minute rate), the current watermark (UTC; for a source vertex the watermark it\n"
    "emits) and the backpressure level (ok/low/high, with the busiest subtask's share\n"
    "of time backpressured).  Flink fetches metrics from its taskmanagers only when\n"
    "asked, so the jobs are read twice, a second apart: the numbers are that fresh.\n"
    "\n",
    .tables = {&jobs_table}};

static const cli_cmd_t cancel_cmd = {
    .name = "flink cancel",
    .usage =
    "usage: streamlab flink cancel --rest URL [--wait S] JOB_ID\n"
    "\n"
    "Cancels a Flink job (PATCH /jobs/JOB_ID?mode=cancel), waits until it is CANCELED\n"
    "(or another final state) and prints its final state.\n"
    "\n",
    .tables = {&cancel_table}};

int cmd_flink_jobs(int argc, char **argv)
{
    jobs_args_t a = {.base = DEFAULT_REST, .timeout_ms = 5000};
    int r = cli_parse(&jobs_cmd, argc, argv, &a, NULL);
    if (r >= 0)
        return r;
    const char *base = a.base, *record = a.record;
    long timeout_ms = a.timeout_ms;
    int json = a.json;
    if (optind < argc) {
        cli_error("flink jobs", "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    flinkrest_t *fr = flinkrest_new(base, timeout_ms);
    if (record)
        flinkrest_record(fr, record);
    static flink_jobs_t jobs; /* ~90 KB: not on the stack */
    char err[1024];
    int rc = EXIT_OK;
    r = flinkrest_jobs(fr, &jobs, err, sizeof err);
    /* Flink's REST API fetches metrics from the taskmanagers when asked, and answers
     * with what it had (up to metrics.fetcher.update-interval, 10 s, old or older when
     * nobody asked): the first read makes it fetch, the second a second later is fresh. */
    int running = 0;
    for (int i = 0; r == 0 && i < jobs.njobs; i++)
        running += !strcmp(jobs.jobs[i].state, "RUNNING");
    if (running) {
        util_sleep_ms(1000);
        r = flinkrest_jobs(fr, &jobs, err, sizeof err);
    }
    if (r < 0) {
        cli_error("flink jobs", "%s", err);
        if (r == FLINKREST_UNREACHABLE)
            cli_error("flink jobs", "no answer from Flink's REST API at %s", base);
        rc = r == FLINKREST_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_FAIL;
    } else if (json) {
        json_t *o = flinkrest_jobs_json(&jobs, base);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
    } else {
        print_table(&jobs, base);
    }
    flinkrest_free(fr);
    return rc;
}

/* A job id is 32 hex digits: say so before asking Flink, whose own message for this
 * case is a Java exception about path parameters. */
static int valid_jid(const char *s)
{
    if (strlen(s) != 32)
        return 0;
    for (const char *c = s; *c; c++)
        if (!strchr("0123456789abcdefABCDEF", *c))
            return 0;
    return 1;
}

int cmd_flink_cancel(int argc, char **argv)
{
    jobs_args_t a = {.base = DEFAULT_REST, .timeout_ms = 5000, .wait_s = 30};
    int r = cli_parse(&cancel_cmd, argc, argv, &a, NULL);
    if (r >= 0)
        return r;
    const char *base = a.base, *record = a.record;
    long timeout_ms = a.timeout_ms;
    double wait_s = a.wait_s;
    if (optind + 1 != argc) {
        cli_error("flink cancel", optind < argc ? "one JOB_ID, please" : "which job? (JOB_ID)");
        cli_usage(&cancel_cmd, stderr);
        return EXIT_USAGE;
    }
    const char *jid = argv[optind];
    if (!valid_jid(jid)) {
        cli_error("flink cancel", "\"%s\" is not a Flink job id (32 hex digits; see `streamlab flink jobs`)", jid);
        return EXIT_USAGE;
    }
    flinkrest_t *fr = flinkrest_new(base, timeout_ms);
    if (record)
        flinkrest_record(fr, record);
    char err[1024];
    int rc = EXIT_OK;
    r = flinkrest_cancel(fr, jid, err, sizeof err);
    if (r < 0) {
        cli_error("flink cancel", "%s", err);
        rc = r == FLINKREST_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_FAIL;
        goto out;
    }
    /* Cancelling is asynchronous: poll the job's state until it is final. */
    static flink_job_t job;
    char state[16] = "?";
    int64_t until = util_mono_ms() + (int64_t)(wait_s * 1000);
    for (;;) {
        if (flinkrest_job(fr, jid, &job, err, sizeof err) == 0)
            snprintf(state, sizeof state, "%s", job.state);
        if (flinkrest_state_is_final(state) || util_mono_ms() >= until)
            break;
        util_sleep_ms(200);
    }
    if (!strcmp(state, "CANCELED")) {
        printf("%s %s\n", jid, state);
    } else if (flinkrest_state_is_final(state)) {
        printf("%s %s\n", jid, state);
        cli_error("flink cancel", "the job ended %s, not CANCELED", state);
        rc = EXIT_FAIL;
    } else {
        printf("%s %s\n", jid, state);
        cli_error("flink cancel", "still %s after %.0f s", state, wait_s);
        rc = EXIT_FAIL;
    }
out:
    flinkrest_free(fr);
    return rc;
}
