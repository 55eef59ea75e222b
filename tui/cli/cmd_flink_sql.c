/* cmd_flink_sql.c — `streamlab flink sql` (print the Flink SQL twin of the pipelines)
 * and `streamlab flink submit` (run it on a Flink SQL Gateway over its REST API).
 * The SQL itself comes from engine/flink/flinksql.c (its text: assets/flink/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/flink/flinksql.h"
#include "engine/flink/httpjson.h"
#include "tui/cli/cli.h"
#include "tui/cli/cmd_flink.h"

typedef struct {
    flinksql_opts_t sql;
    const char *with[32];
    const char *gateway;
    double timeout_s;
    int submit; /* the options of `submit` (1) or of `sql` (0) */
} twin_args_t;

/* (In the messages below, opt is the word of argv just read: see own_errors.) */

static int set_pipelines(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)opt;
    char err[256];
    if (flinksql_parse_pipelines(arg, &((twin_args_t *)args)->sql.pipelines, err, sizeof err) < 0) {
        cli_error(cmd, "--pipelines: %s", err);
        return -1;
    }
    return 0;
}

static int set_with(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)opt;
    twin_args_t *a = args;
    if (a->sql.nwith >= sizeof a->with / sizeof *a->with) {
        cli_error(cmd, "too many --connector-option (at most 32)");
        return -1;
    }
    a->with[a->sql.nwith++] = arg;
    a->sql.with = a->with;
    return 0;
}

/* --min-width, --min-height */
static int set_pixels(void *args, const char *cmd, const char *opt, const char *arg, int *out)
{
    (void)args;
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0)
        return -1;
    if (d != (int)d || d < 0 || d > 100000) {
        cli_error(cmd, "%s must be a whole number of pixels", opt);
        return -1;
    }
    *out = (int)d;
    return 0;
}
static int set_min_width(void *args, const char *cmd, const char *opt, const char *arg)
{
    return set_pixels(args, cmd, opt, arg, &((twin_args_t *)args)->sql.min_width);
}
static int set_min_height(void *args, const char *cmd, const char *opt, const char *arg)
{
    return set_pixels(args, cmd, opt, arg, &((twin_args_t *)args)->sql.min_height);
}

/* A number of the twin's: not negative. */
static int twin_number(const char *cmd, const char *opt, const char *arg, double *d)
{
    if (cli_number(cmd, opt, arg, d) < 0)
        return -1;
    if (*d < 0) {
        cli_error(cmd, "%s must not be negative", opt);
        return -1;
    }
    return 0;
}

static int set_parallelism(void *args, const char *cmd, const char *opt, const char *arg)
{
    double d;
    if (twin_number(cmd, opt, arg, &d) < 0)
        return -1;
    if (d != (int)d || d < 1 || d > 1024) {
        cli_error(cmd, "--parallelism must be a whole number from 1 to 1024");
        return -1;
    }
    ((twin_args_t *)args)->sql.parallelism = (int)d;
    return 0;
}

static int set_window(void *args, const char *cmd, const char *opt, const char *arg)
{
    double d;
    if (twin_number(cmd, opt, arg, &d) < 0)
        return -1;
    if (d <= 0) {
        cli_error(cmd, "--window must be more than 0");
        return -1;
    }
    ((twin_args_t *)args)->sql.window_s = d;
    return 0;
}

static int set_lateness(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)args;
    double d;
    if (twin_number(cmd, opt, arg, &d) < 0)
        return -1;
    if (d > 0) {
        cli_error(cmd, "--allowed-lateness has no Flink SQL counterpart (window TVFs "
                       "drop late records); the twin supports 0 only");
        return -1;
    }
    return 0;
}

static int set_timeout(void *args, const char *cmd, const char *opt, const char *arg)
{
    double d;
    if (twin_number(cmd, opt, arg, &d) < 0)
        return -1;
    ((twin_args_t *)args)->timeout_s = d > 0 ? d : 120;
    return 0;
}

static int set_time(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)args, (void)opt;
    if (strcmp(arg, "event")) {
        cli_error(cmd, "--time %s: the twin runs on event time only", arg);
        return -1;
    }
    return 0;
}

static int set_gateway(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)opt;
    twin_args_t *a = args;
    if (!a->submit) {
        cli_error(cmd, "--gateway is an option of `streamlab flink submit`");
        return -1;
    }
    a->gateway = arg;
    return 0;
}

#define A(field) offsetof(twin_args_t, field)
static const cli_table_t twin_table = {
    25, (const cli_opt_t[]){
            {"brokers", 'b', CLI_STRING, A(sql.brokers), .arg = "HOST:PORT",
             .help = "Kafka bootstrap servers as the Flink cluster reaches them\n"
                     "(default " CLI_DEFAULT_BROKERS ")"},
            {"pipelines", 0, CLI_CUSTOM, .set = set_pipelines, .arg = "LIST",
             .help = "transactions, video or both (default transactions; files\nhas no twin)"},
            {"suffix", 0, CLI_STRING, A(sql.suffix), .arg = "S",
             .help = "append S to every output topic (default _flink), so both\n"
                     "engines can write side by side on one cluster"},
            {"group", 0, CLI_STRING, A(sql.group), .arg = "G",
             .help = "the Kafka source's consumer group (default streamlab-flink-twin)"},
            {"job-name", 0, CLI_STRING, A(sql.job_name), .arg = "NAME",
             .help = "the Flink job's name (default streamlab-twin<suffix>)"},
            {"bounded", 0, CLI_FLAG, A(sql.bounded),
             .help = "read up to the end offsets at job start, fire every window\n"
                     "and finish (like `streamlab engine --until-end`)"},
            {"parallelism", 0, CLI_CUSTOM, .set = set_parallelism, .arg = "N",
             .help = "the job's parallelism (default: the cluster's)"},
            {"filter-amount", 0, CLI_STRING, A(sql.filter_amount), .arg = "X",
             .help = "pass transactions with amount > X (default 100)"},
            {"high-value", 0, CLI_STRING, A(sql.high_value), .arg = "X",
             .help = "high_value_transactions get amount > X (default 500)"},
            {"fraud-small", 0, CLI_STRING, A(sql.fraud_small), .arg = "X",
             .help = "fraud_alerts: a transaction < X (default 20) ..."},
            {"fraud-large", 0, CLI_STRING, A(sql.fraud_large), .arg = "Y",
             .help = "... whose user's very next one is > Y (default 800) ..."},
            {"fraud-within", 0, CLI_NUMBER, A(sql.fraud_within_s), .arg = "S",
             .help = "... at most S seconds later (default 60; MATCH_RECOGNIZE)"},
            {"min-width", 0, CLI_CUSTOM, .set = set_min_width, .arg = "W",
             .help = "video: pass frames at least W pixels wide (default 640)"},
            {"min-height", 0, CLI_CUSTOM, .set = set_min_height, .arg = "H",
             .help = "video: ... and H pixels high (default 480)"},
            {"window", 0, CLI_CUSTOM, .set = set_window, .arg = "S",
             .help = "window size in seconds (default 30)"},
            {"window-slide", 0, CLI_NUMBER, A(sql.window_slide_s), .arg = "S",
             .help = "sliding (HOP) windows that start every S seconds"},
            {"session-gap", 0, CLI_NUMBER, A(sql.session_gap_s), .arg = "S",
             .help = "session windows per category (SESSION) instead"},
            {"out-of-orderness", 0, CLI_NUMBER, A(sql.out_of_orderness_s), .arg = "S",
             .help = "watermark bound in seconds (default 5)"},
            {"connector-option", 0, CLI_CUSTOM, .set = set_with, .arg = "K=V",
             .help = "add 'K' = 'V' to every Kafka table's WITH clause (e.g.\n"
                     "properties.security.protocol=SASL_SSL); repeatable"},
            {"state-ttl", 0, CLI_NUMBER, A(sql.state_ttl_s), .arg = "S",
             .help = "forget a user's running total after S seconds of no update\n"
                     "(table.exec.state.ttl)"},
            {"help", 'h', CLI_HELP, .help = "this help"},
            /* taken, for the same command line as the engine's, but not listed */
            {"allowed-lateness", 0, CLI_CUSTOM, .set = set_lateness, .arg = "S"},
            {"time", 0, CLI_CUSTOM, .set = set_time, .arg = "event"},
            {0}}};

/* submit's own; sql takes them too, unlisted (--gateway then says whose it is) */
static const cli_table_t submit_table = {
    25, (const cli_opt_t[]){
            {"gateway", 0, CLI_CUSTOM, .set = set_gateway, .arg = "URL",
             .help = "the SQL Gateway's REST endpoint (e.g. http://127.0.0.1:8083)"},
            {"timeout", 0, CLI_CUSTOM, .set = set_timeout, .arg = "S",
             .help = "give up waiting for one statement after S seconds (default 120)"},
            {0}}};
static const cli_table_t sql_unlisted_table = {
    25, (const cli_opt_t[]){
            {"gateway", 0, CLI_CUSTOM, .set = set_gateway, .arg = "URL"},
            {"timeout", 0, CLI_CUSTOM, .set = set_timeout, .arg = "S"},
            {0}}};
#undef A

static const cli_cmd_t sql_cmd = {
    .name = "flink sql",
    .usage =
    "usage: streamlab flink sql [-b HOST:PORT] [--pipelines transactions] [--suffix S]\n"
    "                           [--bounded] [threshold and window options]\n"
    "\n"
    "Prints the Flink SQL twin of streamlab's pipelines: CREATE TABLE for every input and\n"
    "output topic (Kafka connector, JSON; user_aggregations with upsert-kafka), the event\n"
    "time from each record's `timestamp` with a WATERMARK, and one EXECUTE STATEMENT SET\n"
    "that computes what `streamlab engine` computes with the same flags. Run it with\n"
    "`streamlab flink submit` or paste it into Flink's SQL client.\n"
    "\n",
    .tables = {&twin_table, &sql_unlisted_table},
    .own_errors = true};

static const cli_cmd_t submit_cmd = {
    .name = "flink submit",
    .usage =
    "usage: streamlab flink submit --gateway URL [-b HOST:PORT] [sql options]\n"
    "\n"
    "Sends the Flink SQL twin (what `streamlab flink sql` prints with the same options)\n"
    "to a Flink SQL Gateway over its REST API: opens a session, runs each statement and\n"
    "waits for it, prints the id of the job the statement set starts on stdout, and\n"
    "closes the session. Progress goes to stderr. A statement Flink rejects stops it\n"
    "with Flink's own error message and exit status 1.\n"
    "\n",
    .tables = {&submit_table, &twin_table},
    .own_errors = true};

/* Parses the options of `sql` (submit = 0) or `submit` (1). Returns -1 to go on, or
 * the exit status. */
static int parse(const char *cmd, int submit, int argc, char **argv, twin_args_t *a)
{
    flinksql_defaults(&a->sql);
    a->gateway = NULL;
    a->timeout_s = 120;
    a->submit = submit;
    int r = cli_parse(submit ? &submit_cmd : &sql_cmd, argc, argv, a, NULL);
    if (r >= 0)
        return r;
    if (optind < argc) {
        cli_error(cmd, "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    if (submit && !a->gateway) {
        cli_error(cmd, "--gateway URL is required (the SQL Gateway's REST endpoint)");
        return EXIT_USAGE;
    }
    return -1;
}

int cmd_flink_sql(int argc, char **argv)
{
    twin_args_t a;
    int rc = parse("flink sql", 0, argc, argv, &a);
    if (rc >= 0)
        return rc;
    char err[256];
    char **stmts = flinksql_statements(&a.sql, err, sizeof err);
    if (!stmts) {
        cli_error("flink sql", "%s", err);
        return EXIT_USAGE;
    }
    char *script = flinksql_script(stmts);
    printf("-- The Flink SQL twin of `streamlab engine` (streamlab flink sql).\n\n%s",
           script ? script : "");
    free(script);
    flinksql_free(stmts);
    return EXIT_OK;
}

/* --- submit --------------------------------------------------------------- */

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The first line of a statement, shortened, for progress and error messages. */
static void headline(const char *stmt, char *buf, size_t size)
{
    size_t n = strcspn(stmt, "\n");
    if (n > 60)
        n = 60;
    snprintf(buf, size, "%.*s%s", (int)n, stmt, stmt[n] && stmt[n] != '\n' ? "..." : "");
}

/* Flink's error as text: the deepest "Caused by:" when there is one (that is where the
 * SQL Gateway puts the real reason), else the errors joined. */
static void flink_error(const json_t *reply, int status, const char *fallback, char *buf,
                        size_t size)
{
    json_t *errors = reply ? json_object_get(reply, "errors") : NULL;
    const char *last = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        const char *s = json_string_value(e), *c = s;
        while (c && (c = strstr(c, "Caused by: ")) != NULL) {
            last = c + 11;
            c += 11;
        }
    }
    if (last) {
        /* The message may span lines ("Unsupported options:\n\nno.such.option\n\n
         * Supported options: ..."): join them up to the stack trace, at most 400 bytes. */
        const char *end = strstr(last, "\n\tat ");
        size_t n = end ? (size_t)(end - last) : strlen(last), o = 0;
        for (size_t i = 0; i < n && o + 4 < size && o < 400; i++) {
            char c = last[i] == '\n' || last[i] == '\t' ? ' ' : last[i];
            if (c == ' ' && o > 0 && buf[o - 1] == ' ')
                continue;
            buf[o++] = c;
        }
        if (o >= 400 && o + 4 < size)
            buf[o++] = '.', buf[o++] = '.', buf[o++] = '.';
        buf[o] = '\0';
        return;
    }
    if (reply && httpjson_error(reply, 0, buf, size))
        return;
    if (status < 0)
        snprintf(buf, size, "%s", fallback);
    else
        snprintf(buf, size, "HTTP %d%s%s", status, *fallback ? ": " : "", fallback);
}

typedef struct {
    const char *base;
    char *session; /* the session's path: /v1/sessions/<handle> */
    long timeout_ms;
} gateway_t;

/* One request to PATH under the gateway; returns the status, *reply set (or NULL). */
static int call(const gateway_t *g, const char *method, const char *path, const json_t *body,
                json_t **reply, char *err, size_t errlen)
{
    char *url = httpjson_url(g->base, path);
    if (!url) {
        snprintf(err, errlen, "out of memory");
        *reply = NULL;
        return -1;
    }
    int st = httpjson_request(method, url, body, 30000, reply, err, errlen);
    free(url);
    return st;
}

/* Runs one statement and waits for its result; for a statement that starts a job,
 * copies the job id into job (else leaves it empty). 0, or -1 with Flink's reason. */
static int run_statement(const gateway_t *g, const char *stmt, char *job, size_t joblen,
                         char *err, size_t errlen)
{
    job[0] = '\0';
    char path[512], why[4096];
    json_t *body = json_pack("{ss}", "statement", stmt), *reply = NULL;
    snprintf(path, sizeof path, "%s/statements", g->session);
    int st = call(g, "POST", path, body, &reply, why, sizeof why);
    json_decref(body);
    const char *op = json_string_value(json_object_get(reply, "operationHandle"));
    if (st != 200 || !op) {
        flink_error(reply, st, why, err, errlen);
        json_decref(reply);
        return -1;
    }
    char handle[128];
    snprintf(handle, sizeof handle, "%s", op);
    json_decref(reply);

    /* Fetch results until EOS; NOT_READY means the operation is still running. An
     * operation that failed answers the fetch with its error. */
    long waited = 0, token = 0;
    for (;;) {
        snprintf(path, sizeof path, "%s/operations/%s/result/%ld", g->session, handle, token);
        st = call(g, "GET", path, NULL, &reply, why, sizeof why);
        if (st != 200) {
            flink_error(reply, st, why, err, errlen);
            json_decref(reply);
            return -1;
        }
        const char *type = json_string_value(json_object_get(reply, "resultType"));
        const char *job_id = json_string_value(json_object_get(reply, "jobID"));
        if (job_id && !job[0])
            snprintf(job, joblen, "%s", job_id);
        if (!job[0]) { /* older gateways: the job id is the result's one field */
            json_t *data = json_object_get(json_object_get(reply, "results"), "data");
            json_t *fields = json_object_get(json_array_get(data, 0), "fields");
            json_t *cols = json_object_get(json_object_get(reply, "results"), "columns");
            const char *col = json_string_value(json_object_get(json_array_get(cols, 0), "name"));
            if (col && !strcmp(col, "job id") && json_is_string(json_array_get(fields, 0)))
                snprintf(job, joblen, "%s", json_string_value(json_array_get(fields, 0)));
        }
        const char *next = json_string_value(json_object_get(reply, "nextResultUri"));
        bool eos = type && !strcmp(type, "EOS");
        bool not_ready = type && !strcmp(type, "NOT_READY");
        long next_token = token;
        if (next) {
            const char *slash = strrchr(next, '/');
            if (slash)
                next_token = strtol(slash + 1, NULL, 10);
        }
        json_decref(reply);
        /* A statement set's result is its job id; the job itself runs on. */
        if (eos || !next || job[0])
            return 0;
        if (not_ready || next_token == token) {
            if (waited >= g->timeout_ms) {
                snprintf(err, errlen, "no result after %ld s", g->timeout_ms / 1000);
                return -1;
            }
            msleep(200);
            waited += 200;
        }
        token = next_token;
    }
}

int cmd_flink_submit(int argc, char **argv)
{
    const char *cmd = "flink submit";
    twin_args_t a;
    int rc = parse(cmd, 1, argc, argv, &a);
    if (rc >= 0)
        return rc;
    char err[4096];
    char **stmts = flinksql_statements(&a.sql, err, sizeof err);
    if (!stmts) {
        cli_error(cmd, "%s", err);
        return EXIT_USAGE;
    }
    if (httpjson_global_init() < 0) {
        cli_error(cmd, "could not initialise libcurl");
        flinksql_free(stmts);
        return EXIT_FAIL;
    }

    gateway_t g = {.base = a.gateway, .timeout_ms = (long)(a.timeout_s * 1000)};
    json_t *body = json_pack("{s{ss}}", "properties", "execution.runtime-mode", "streaming");
    json_t *reply = NULL;
    char why[512];
    int st = call(&g, "POST", "/v1/sessions", body, &reply, why, sizeof why);
    json_decref(body);
    const char *sh = json_string_value(json_object_get(reply, "sessionHandle"));
    if (st != 200 || !sh) {
        flink_error(reply, st, why, err, sizeof err);
        cli_error(cmd, "could not open a SQL Gateway session at %s: %s", a.gateway, err);
        json_decref(reply);
        flinksql_free(stmts);
        return st < 0 ? EXIT_UNREACHABLE : EXIT_FAIL;
    }
    if (asprintf(&g.session, "/v1/sessions/%s", sh) < 0)
        g.session = NULL;
    fprintf(stderr, "flink submit: session %s on %s\n", sh, a.gateway);
    json_decref(reply);

    rc = EXIT_OK;
    char job[128] = "", this_job[128], head[96];
    size_t n = 0;
    for (char **p = stmts; *p; p++)
        n++;
    for (size_t i = 0; g.session && stmts[i]; i++) {
        headline(stmts[i], head, sizeof head);
        fprintf(stderr, "flink submit: [%zu/%zu] %s\n", i + 1, n, head);
        if (run_statement(&g, stmts[i], this_job, sizeof this_job, err, sizeof err) < 0) {
            cli_error(cmd, "Flink rejected statement %zu (%s): %s", i + 1, head, err);
            rc = EXIT_FAIL;
            break;
        }
        if (this_job[0])
            snprintf(job, sizeof job, "%s", this_job);
    }
    if (rc == EXIT_OK && !job[0]) {
        cli_error(cmd, "the statement set ran but the gateway named no job id");
        rc = EXIT_FAIL;
    }
    if (rc == EXIT_OK) {
        fprintf(stderr, "flink submit: job %s started\n", job);
        printf("%s\n", job);
    }
    /* The job keeps running without the session. */
    if (g.session) {
        json_t *r = NULL;
        call(&g, "DELETE", g.session, NULL, &r, why, sizeof why);
        json_decref(r);
        free(g.session);
    }
    flinksql_free(stmts);
    return rc;
}
