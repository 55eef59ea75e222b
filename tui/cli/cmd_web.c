/* cmd_web.c — `streamlab web`: the upload page (see producers/webserver.h). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/util.h"
#include "producers/webserver.h"
#include "tui/cli/cli.h"

static const char usage[] =
    "usage: streamlab web [-b HOST:PORT] [--listen HOST:PORT] [--max-size MB]\n"
    "                     [--pace GROUP|none] [--window MB] [--topic T]\n"
    "\n"
    "Serves the original's upload page: drag and drop or choose files, per-file progress,\n"
    "the Kafka connection status, the topic list, and where each upload landed (topic,\n"
    "partition, offset).  Routes: / , POST /upload (multipart, field \"file\"), /status,\n"
    "/topics.  Prints the address it listens on as its first line.\n"
    "\n"
    "  --listen HOST:PORT   where to listen (default 127.0.0.1:5000, loopback only; port 0\n"
    "                       picks a free one; 0.0.0.0:5000 opens it to the network)\n"
    "  --max-size MB        refuse larger uploads with HTTP 413 (default 256)\n"
    "  --pace GROUP|none    as for `streamlab upload` (default streamlab-engine)\n"
    "  --window MB          as for `streamlab upload` (default 3)\n"
    "  --topic T            as for `streamlab upload`: every file to T\n" CLI_COMMON_HELP;

static volatile sig_atomic_t stop;
static void on_stop(void *arg) { (void)arg, stop = 1; }

int cmd_web(int argc, char **argv)
{
    enum { O_LISTEN = 1, O_MAX, O_PACE, O_WINDOW, O_TOPIC };
    static const struct option longopts[] = {{"listen", required_argument, 0, O_LISTEN},
                                             {"max-size", required_argument, 0, O_MAX},
                                             {"pace", required_argument, 0, O_PACE},
                                             {"window", required_argument, 0, O_WINDOW},
                                             {"topic", required_argument, 0, O_TOPIC},
                                             CLI_COMMON_LONGOPTS,
                                             {0}};
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    webserver_opts_t wo;
    webserver_opts_init(&wo);
    bool paced = false;
    int opt, r;
    double d;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if ((r = cli_kafka_opt(&ck, opt, optarg)) < 0)
            return EXIT_USAGE;
        if (r)
            continue;
        switch (opt) {
        case O_LISTEN: wo.listen = optarg; break;
        case O_TOPIC: wo.upload.topic = optarg; break;
        case O_MAX:
            if (cli_number("web", "--max-size", optarg, &d) < 0)
                return EXIT_USAGE;
            wo.max_bytes = (int64_t)(d * 1048576);
            break;
        case O_PACE:
            if (!paced)
                wo.upload.npace = 0;
            paced = true;
            if (strcmp(optarg, "none") && wo.upload.npace < UPLOAD_MAX_PACE_GROUPS)
                wo.upload.pace_groups[wo.upload.npace++] = optarg;
            break;
        case O_WINDOW:
            if (cli_number("web", "--window", optarg, &d) < 0 || d <= 0)
                return EXIT_USAGE;
            wo.upload.window_bytes = (int64_t)(d * 1048576);
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
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
