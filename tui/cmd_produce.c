/* cmd_produce.c — `streamlab produce transactions`. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../engine/util.h"
#include "../producers/txproducer.h"
#include "cli.h"

static const char usage[] =
    "usage: streamlab produce transactions [-b HOST:PORT] [--rate N] [--count N] [--seed N]\n"
    "\n"
    "Sends generated e-commerce transactions (the original project's generator) to the\n"
    "`transactions` topic, keyed by user_id, with an idempotent acks=all producer, and\n"
    "prints a summary of what the broker acknowledged.\n"
    "\n"
    "  --rate N     records per second (default 10; 0 = as fast as possible)\n"
    "  --count N    stop after N records (default: until Ctrl-C)\n"
    "  --seed N     generator seed, for repeatable data\n"
    "  --topic T    write to T instead of transactions\n"
    "  --out-of-order S     jitter event times back by up to S seconds\n"
    "  --late-fraction F    this share (0-1) is 35-65 s old: late for 30 s windows\n"
    "  --bad-fraction F     this share (0-1) is malformed, for the dead-letter topic\n"
    CLI_COMMON_HELP;

static void on_stop(void *arg) { txprod_stop(arg); }

typedef struct run {
    txprod_t *p;
    int rc;
    char err[512];
    atomic_bool done;
    double secs; /* first record to last delivery report */
} run_t;

static void *run_main(void *arg)
{
    run_t *r = arg;
    int64_t t0 = util_mono_us();
    r->rc = txprod_run(r->p, r->err, sizeof r->err);
    r->secs = (util_mono_us() - t0) / 1e6;
    atomic_store(&r->done, true);
    return NULL;
}

int cmd_produce(int argc, char **argv)
{
    static const struct option longopts[] = {{"rate", required_argument, 0, 'r'},
                                             {"count", required_argument, 0, 'c'},
                                             {"seed", required_argument, 0, 's'},
                                             {"topic", required_argument, 0, 't'},
                                             {"out-of-order", required_argument, 0, 'O'},
                                             {"late-fraction", required_argument, 0, 'L'},
                                             {"bad-fraction", required_argument, 0, 'B'},
                                             CLI_COMMON_LONGOPTS,
                                             {0}};
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    double rate = 10;
    long long count = 0, seed = 0;
    const char *topic = "transactions";
    double ooo = 0, late = 0, bad = 0;
    int opt, r;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if ((r = cli_kafka_opt(&ck, opt, optarg)) < 0)
            return EXIT_USAGE;
        if (r)
            continue;
        switch (opt) {
        case 'r':
            if (cli_number("produce", "--rate", optarg, &rate) < 0)
                return EXIT_USAGE;
            break;
        case 'c':
            if (cli_count("produce", "--count", optarg, &count) < 0)
                return EXIT_USAGE;
            break;
        case 's':
            if (cli_count("produce", "--seed", optarg, &seed) < 0)
                return EXIT_USAGE;
            break;
        case 't': topic = optarg; break;
        case 'O':
            if (cli_number("produce", "--out-of-order", optarg, &ooo) < 0)
                return EXIT_USAGE;
            break;
        case 'L':
        case 'B':
            if (cli_number("produce", opt == 'L' ? "--late-fraction" : "--bad-fraction", optarg,
                           opt == 'L' ? &late : &bad) < 0)
                return EXIT_USAGE;
            if ((opt == 'L' ? late : bad) > 1) {
                cli_error("produce", "%s is a share between 0 and 1",
                          opt == 'L' ? "--late-fraction" : "--bad-fraction");
                return EXIT_USAGE;
            }
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("produce", "what to produce? (transactions)");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[optind], "transactions")) {
        cli_error("produce", "unknown kind \"%s\" (known: transactions)", argv[optind]);
        return EXIT_USAGE;
    }
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k)))
        return r;
    run_t run = {0};
    run.p = txprod_new(k, topic, rate, (uint64_t)count, (uint64_t)seed, run.err, sizeof run.err);
    if (!run.p) {
        cli_error("produce", "%s", run.err);
        kconf_free(k);
        return EXIT_USAGE;
    }
    txprod_set_disorder(run.p, (int64_t)(ooo * 1000), late, bad);
    cli_on_signal(on_stop, run.p);
    pthread_t th;
    pthread_create(&th, NULL, run_main, &run);
    bool tty = isatty(2);
    while (!atomic_load(&run.done)) {
        util_sleep_ms(tty ? 200 : 20);
        if (tty) {
            txprod_stats_t s;
            txprod_stats(run.p, &s);
            fprintf(stderr, "\rproduced %llu, delivered %llu ",
                    (unsigned long long)s.sent, (unsigned long long)s.delivered);
        }
    }
    pthread_join(th, NULL);
    double secs = run.secs;
    txprod_stats_t s;
    txprod_stats(run.p, &s);
    if (tty)
        fputc('\n', stderr);
    printf("produced %llu transactions to %s in %.2f s (%.0f/s): %llu delivered, %llu failed\n",
           (unsigned long long)s.sent, topic, secs, secs > 0 ? s.delivered / secs : 0.0,
           (unsigned long long)s.delivered, (unsigned long long)s.failed);
    if (run.rc)
        cli_error("produce", "%s", run.err);
    txprod_free(run.p);
    kconf_free(k);
    return run.rc ? EXIT_FAIL : EXIT_OK;
}
