/* cli.c — see cli.h. */
#include "tui/cli/cli.h"

#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/kafka/admin.h"
#include "engine/util.h"

void cli_kafka_init(cli_kafka_t *c)
{
    memset(c, 0, sizeof *c);
    c->brokers = getenv("STREAMLAB_BROKERS") ? getenv("STREAMLAB_BROKERS") : CLI_DEFAULT_BROKERS;
    c->timeout_s = CLI_DEFAULT_TIMEOUT_S;
}

int cli_kafka_opt(cli_kafka_t *c, int opt, const char *arg)
{
    switch (opt) {
    case 'b':
        c->brokers = arg;
        return 1;
    case 'X':
        if (c->nprops == CLI_MAX_PROPS) {
            cli_error("options", "too many -X options");
            return -1;
        }
        c->props[c->nprops++] = (char *)arg;
        return 1;
    case OPT_TIMEOUT: {
        double t;
        if (cli_number("options", "--timeout", arg, &t) < 0 || t < 1)
            return -1;
        c->timeout_s = (int)t;
        return 1;
    }
    }
    return 0;
}

kconf_t *cli_kafka_conf(const cli_kafka_t *c)
{
    kconf_t *k = kconf_new(c->brokers, c->timeout_s * 1000);
    char err[256];
    for (int i = 0; i < c->nprops; i++)
        if (kconf_add(k, c->props[i], err, sizeof err) < 0) {
            cli_error("options", "%s", err);
            kconf_free(k);
            return NULL;
        }
    return k;
}

int cli_probe(const kconf_t *k)
{
    char err[512];
    if (kconf_probe(k, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "streamlab: %s\n"
                    "  start one with `streamlab broker` or `make kafka`, or point -b at yours\n",
            err);
    return EXIT_UNREACHABLE;
}

int cli_kafka_connect(const cli_kafka_t *c, kconf_t **out)
{
    kconf_t *k = cli_kafka_conf(c);
    if (!k)
        return EXIT_USAGE;
    int r = cli_probe(k);
    if (r) {
        kconf_free(k);
        return r;
    }
    *out = k;
    return 0;
}

size_t cli_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = xcalloc(lb + 1, sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

typedef struct ranked {
    const char *name;
    size_t dist;
} ranked_t;

static int by_distance(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    return strcmp(x->name, y->name);
}

int cli_topics_exist(const kconf_t *k, const char *cmd, const char *const *topics, size_t n)
{
    char err[512];
    json_t *names = admin_topic_names(k, err, sizeof err);
    if (!names) {
        cli_error(cmd, "%s", err);
        return EXIT_UNREACHABLE;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (topics[i][0] == '^')
            continue;
        bool found = false;
        size_t nn = json_array_size(names);
        for (size_t j = 0; j < nn && !found; j++)
            found = !strcmp(json_string_value(json_array_get(names, j)), topics[i]);
        if (found)
            continue;
        ranked_t *r = xcalloc(nn + 1, sizeof *r);
        for (size_t j = 0; j < nn; j++) {
            r[j].name = json_string_value(json_array_get(names, j));
            r[j].dist = cli_distance(topics[i], r[j].name);
        }
        qsort(r, nn, sizeof *r, by_distance);
        fprintf(stderr, "streamlab %s: no topic \"%s\" on %s (nothing was created); ", cmd,
                topics[i], kconf_brokers(k));
        if (!nn)
            fputs("it has no topics yet\n", stderr);
        else
            fputs("it has, closest first:\n ", stderr);
        for (size_t j = 0, col = 1; j < nn; j++) {
            size_t len = strlen(r[j].name) + 1;
            if (col + len > 78) {
                fputs("\n ", stderr);
                col = 1;
            }
            fprintf(stderr, " %s", r[j].name);
            col += len;
        }
        if (nn)
            fputc('\n', stderr);
        free(r);
        rc = EXIT_USAGE;
    }
    json_decref(names);
    return rc;
}

static void (*stop_fn)(void *);
static void *stop_arg;
static atomic_int signals_seen;

static void on_signal(int sig)
{
    (void)sig;
    if (atomic_fetch_add(&signals_seen, 1) >= 1)
        _exit(130);
    if (stop_fn)
        stop_fn(stop_arg);
}

void cli_on_signal(void (*on_stop)(void *), void *arg)
{
    stop_fn = on_stop;
    stop_arg = arg;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool cli_stopping(void) { return atomic_load(&signals_seen) > 0; }

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "streamlab %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_number(const char *cmd, const char *opt, const char *arg, double *out)
{
    if (util_parse_double(arg, out) < 0) {
        cli_error(cmd, "%s expects a non-negative number, got \"%s\"", opt, arg);
        return -1;
    }
    return 0;
}

int cli_count(const char *cmd, const char *opt, const char *arg, long long *out)
{
    int64_t v;
    if (util_parse_i64(arg, &v) < 0) {
        cli_error(cmd, "%s expects a non-negative integer, got \"%s\"", opt, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/* --- options as tables ---------------------------------------------------- */

const cli_table_t cli_kafka_table = {
    27, (const cli_opt_t[]){
            {"brokers", 'b', CLI_KAFKA, 'b', .arg = "HOST:PORT",
             .help = "Kafka bootstrap servers (default " CLI_DEFAULT_BROKERS ")"},
            {NULL, 'X', CLI_KAFKA, 'X', .arg = "KEY=VALUE",
             .help = "any librdkafka property, e.g. -X security.protocol=SASL_SSL"},
            {"timeout", 0, CLI_KAFKA, OPT_TIMEOUT, .left = "    --timeout S",
             .help = "give up reaching the cluster after S seconds (default 10)"},
            {"help", 'h', CLI_HELP, .help = "this help"},
            {0}}};

/* The most options one command takes (all its tables). */
#define CLI_MAX_OPTS 64

static bool takes_arg(const cli_opt_t *o)
{
    return o->kind != CLI_FLAG && o->kind != CLI_HELP && (o->kind != CLI_CUSTOM || o->arg);
}

static bool parsed(const cli_opt_t *o)
{
    return o->kind != CLI_END && o->kind != CLI_TEXT && o->kind != CLI_MORE;
}

int cli_parse(const cli_cmd_t *cmd, int argc, char **argv, void *args, cli_kafka_t *ck)
{
    const cli_opt_t *by[CLI_MAX_OPTS];
    struct option lo[CLI_MAX_OPTS + 1];
    char shorts[3 * CLI_MAX_OPTS + 1];
    size_t n = 0, nl = 0, ns = 0;
    for (const cli_table_t *const *t = cmd->tables; *t; t++)
        for (const cli_opt_t *o = (*t)->opts; o->kind != CLI_END; o++) {
            if (!parsed(o))
                continue;
            assert(n < CLI_MAX_OPTS);
            by[n] = o;
            int has = !takes_arg(o) ? no_argument : o->optional ? optional_argument
                                                                : required_argument;
            if (o->name)
                lo[nl++] = (struct option){o->name, has, NULL, o->letter ? o->letter : 256 + (int)n};
            if (o->letter) {
                shorts[ns++] = o->letter;
                for (int i = 0; i < has; i++)
                    shorts[ns++] = ':';
            }
            n++;
        }
    lo[nl] = (struct option){0};
    shorts[ns] = '\0';
    if (cmd->own_errors)
        opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
        const cli_opt_t *o = NULL;
        for (size_t i = 0; i < n && !o; i++)
            if (by[i]->letter ? c == by[i]->letter : c == 256 + (int)i)
                o = by[i];
        if (!o) {
            /* (optopt is a long option's value when its argument is missing:
             * not a letter to print) */
            if (cmd->own_errors && optopt > 0 && optopt < 128)
                cli_error(cmd->name, "option -%c: unknown or missing its value", optopt);
            else if (cmd->own_errors)
                cli_error(cmd->name, "unknown option or missing value: %s", argv[optind - 1]);
            cli_usage(cmd, stderr);
            return EXIT_USAGE;
        }
        char opt[64];
        if (cmd->own_errors)
            snprintf(opt, sizeof opt, "%s", argv[optind - 1]);
        else
            snprintf(opt, sizeof opt, "--%s", o->name ? o->name : "");
        void *at = (char *)args + o->at;
        double d;
        switch (o->kind) {
        case CLI_HELP: cli_usage(cmd, stdout); return EXIT_OK;
        case CLI_KAFKA:
            if (cli_kafka_opt(ck, (int)o->at, optarg) < 0)
                return EXIT_USAGE;
            break;
        case CLI_FLAG: *(bool *)at = true; break;
        case CLI_STRING: *(const char **)at = optarg; break;
        case CLI_NUMBER:
            if (cli_number(cmd->name, opt, optarg, at) < 0)
                return EXIT_USAGE;
            break;
        case CLI_COUNT:
            if (cli_count(cmd->name, opt, optarg, at) < 0)
                return EXIT_USAGE;
            break;
        case CLI_MS:
        case CLI_MB:
            if (cli_number(cmd->name, opt, optarg, &d) < 0)
                return EXIT_USAGE;
            *(int64_t *)at = (int64_t)(d * (o->kind == CLI_MS ? 1000 : 1048576));
            break;
        default: break;
        }
        if (o->set && o->set(args, cmd->name, opt, optarg) < 0)
            return EXIT_USAGE;
    }
    return -1;
}

/* One option's rows: "  -x, --name ARG", padded to the column (two spaces
 * when it reaches it), then its text, each further line under the column. */
static void usage_row(FILE *out, const cli_opt_t *o, int col)
{
    char left[128], letter[4] = "";
    if (o->letter)
        snprintf(letter, sizeof letter, "-%c", o->letter);
    if (o->left)
        snprintf(left, sizeof left, "  %s", o->left);
    else
        snprintf(left, sizeof left, "  %s%s%s%s%s%s%s", letter, o->letter && o->name ? ", " : "",
                 o->name ? "--" : "", o->name ? o->name : "",
                 o->arg ? (o->optional ? "[=" : " ") : "", o->arg ? o->arg : "",
                 o->arg && o->optional ? "]" : "");
    int len = (int)strlen(left), at = o->col ? o->col : col;
    fprintf(out, "%s%*s", left, len < at ? at - len : 2, "");
    for (const char *s = o->help;;) {
        const char *nl = strchr(s, '\n');
        if (!nl) {
            fprintf(out, "%s\n", s);
            break;
        }
        fprintf(out, "%.*s\n%*s", (int)(nl - s), s, col, "");
        s = nl + 1;
    }
}

void cli_usage(const cli_cmd_t *cmd, FILE *out)
{
    fputs(cmd->usage, out);
    for (const cli_table_t *const *t = cmd->tables; *t; t++)
        for (const cli_opt_t *o = (*t)->opts; o->kind != CLI_END; o++) {
            if (o->kind == CLI_TEXT)
                fputs(o->help, out);
            else if (o->help)
                usage_row(out, o, (*t)->col);
        }
}
