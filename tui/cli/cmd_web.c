/* cmd_web.c — `streamlab web`: the upload page (see producers/webserver.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/util.h"
#include "producers/webserver.h"
#include "tui/cli/cli.h"

typedef struct web_args {
    webserver_opts_t wo;
    bool paced; /* a --pace was given: the default group is dropped */
} web_args_t;

static int set_pace(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)cmd, (void)opt;
    web_args_t *a = args;
    if (!a->paced)
        a->wo.upload.npace = 0;
    a->paced = true;
    if (strcmp(arg, "none") && a->wo.upload.npace < UPLOAD_MAX_PACE_GROUPS)
        a->wo.upload.pace_groups[a->wo.upload.npace++] = arg;
    return 0;
}

static int set_window(void *args, const char *cmd, const char *opt, const char *arg)
{
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0 || d <= 0)
        return -1;
    ((web_args_t *)args)->wo.upload.window_bytes = (int64_t)(d * 1048576);
    return 0;
}

#define A(field) offsetof(web_args_t, field)
static const cli_table_t web_table = {
    23, (const cli_opt_t[]){
            {"listen", 0, CLI_STRING, A(wo.listen), .arg = "HOST:PORT",
             .help = "where to listen (default 127.0.0.1:5000, loopback only; port 0\n"
                     "picks a free one; 0.0.0.0:5000 opens it to the network)"},
            {"max-size", 0, CLI_MB, A(wo.max_bytes), .arg = "MB",
             .help = "refuse larger uploads with HTTP 413 (default 256)"},
            {"pace", 0, CLI_CUSTOM, .set = set_pace, .arg = "GROUP|none",
             .help = "as for `streamlab upload` (default streamlab-engine)"},
            {"window", 0, CLI_CUSTOM, .set = set_window, .arg = "MB",
             .help = "as for `streamlab upload` (default 3)"},
            {"topic", 0, CLI_STRING, A(wo.upload.topic), .arg = "T",
             .help = "as for `streamlab upload`: every file to T"},
            {0}}};
#undef A

static const cli_cmd_t web_cmd = {
    .name = "web",
    .usage =
    "usage: streamlab web [-b HOST:PORT] [--listen HOST:PORT] [--max-size MB]\n"
    "                     [--pace GROUP|none] [--window MB] [--topic T]\n"
    "\n"
    "Serves the original's upload page: drag and drop or choose files, per-file progress,\n"
    "the Kafka connection status, the topic list, and where each upload landed (topic,\n"
    "partition, offset).  Routes: / , POST /upload (multipart, field \"file\"), /status,\n"
    "/topics.  Prints the address it listens on as its first line.\n"
    "\n",
    .tables = {&web_table, &cli_kafka_table}};

static volatile sig_atomic_t stop;
static void on_stop(void *arg) { (void)arg, stop = 1; }

int cmd_web(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    web_args_t a = {0};
    webserver_opts_init(&a.wo);
    int r = cli_parse(&web_cmd, argc, argv, &a, &ck);
    if (r >= 0)
        return r;
    webserver_opts_t wo = a.wo;
    if (optind < argc) {
        cli_error("web", "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k)))
        return r;
    char err[512];
    webserver_t *w = webserver_start(k, &wo, err, sizeof err);
    if (!w) {
        cli_error("web", "%s", err);
        kconf_free(k);
        return EXIT_FAIL;
    }
    printf("%s\n", webserver_address(w));
    fflush(stdout);
    fprintf(stderr, "streamlab web: serving http://%s/ (uploads go to %s; Ctrl-C stops)\n",
            webserver_address(w), kconf_brokers(k));
    cli_on_signal(on_stop, NULL);
    while (!stop)
        util_sleep_ms(200);
    webserver_stop(w);
    kconf_free(k);
    return EXIT_OK;
}
