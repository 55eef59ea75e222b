/* cli.c — see cli.h. */
#include "tui/cli/cli.h"

#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
