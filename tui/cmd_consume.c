/* cmd_consume.c — `streamlab consume TOPIC`: print records as they arrive. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../engine/consumer.h"
#include "../engine/util.h"
#include "../producers/filesaver.h"
#include "cli.h"

static const char usage[] =
    "usage: streamlab consume TOPIC [-b HOST:PORT] [--group G] [--from-beginning] [--count N]\n"
    "                               [--raw] [--idle S]\n"
    "\n"
    "Reads TOPIC as a member of consumer group G and prints each record: topic,\n"
    "partition, offset, key, then the value as indented JSON (as text if it is not JSON).\n"
    "\n"
    "  --group G          consumer group (default: a new one for this run)\n"
    "  --from-beginning   a group without committed offsets starts at the earliest record\n"
    "                     (default: only new records)\n"
    "  --count N          exit after N records\n"
    "  --idle S           exit after S seconds without a record\n"
    "  --raw              print only each value, one per line (for scripts)\n"
    "  --save-dir DIR     for uploaded_documents, uploaded_videos, uploaded_images: rebuild\n"
    "                     each file (chunks in order), check its MD5 and save it in DIR\n"
    "                     under its cleaned name (never outside DIR); says which files\n"
    "                     were incomplete or corrupt (nothing partial is left); exit 1 then\n"
    CLI_COMMON_HELP;

static void report_line(void *opaque, const char *msg)
{
    (void)opaque;
    printf("%s\n", msg);
}

static volatile sig_atomic_t stop;
static void on_stop(void *arg) { (void)arg, stop = 1; }

static void print_record(const kmsg_t *m, bool raw)
{
    if (raw) {
        fwrite(m->value ? m->value : "", 1, m->value ? m->len : 0, stdout);
        fputc('\n', stdout);
        return;
    }
    printf("%s [%d] @%lld key=%.*s\n", m->topic, (int)m->partition, (long long)m->offset,
           m->key ? (int)m->keylen : 4, m->key ? m->key : "null");
    json_t *v = m->value ? json_loadb(m->value, m->len, 0, NULL) : NULL;
    if (v) {
        char *s = json_dumps(v, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        printf("%s\n", s);
        free(s);
        json_decref(v);
    } else {
        printf("%.*s\n", m->value ? (int)m->len : 6, m->value ? m->value : "(null)");
    }
}

int cmd_consume(int argc, char **argv)
{
    enum { O_FROM = 1, O_RAW, O_IDLE, O_SAVE };
    static const struct option longopts[] = {{"group", required_argument, 0, 'g'},
                                             {"from-beginning", no_argument, 0, O_FROM},
                                             {"count", required_argument, 0, 'c'},
                                             {"raw", no_argument, 0, O_RAW},
                                             {"idle", required_argument, 0, O_IDLE},
                                             {"save-dir", required_argument, 0, O_SAVE},
                                             CLI_COMMON_LONGOPTS,
                                             {0}};
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    char group[64];
    snprintf(group, sizeof group, "streamlab-consume-%d-%lld", (int)getpid(),
             (long long)util_wall_ms());
    const char *grp = group;
    bool from_beginning = false, raw = false;
    const char *save_dir = NULL;
    long long count = 0;
    double idle = 0;
    int opt, r;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if ((r = cli_kafka_opt(&ck, opt, optarg)) < 0)
            return EXIT_USAGE;
        if (r)
            continue;
        switch (opt) {
        case 'g': grp = optarg; break;
        case O_FROM: from_beginning = true; break;
        case O_RAW: raw = true; break;
        case O_SAVE: save_dir = optarg; break;
        case 'c':
            if (cli_count("consume", "--count", optarg, &count) < 0)
                return EXIT_USAGE;
            break;
        case O_IDLE:
            if (cli_number("consume", "--idle", optarg, &idle) < 0)
                return EXIT_USAGE;
            break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("consume", optind >= argc ? "which topic?" : "one topic at a time");
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    char err[512];
    filesaver_t *saver = NULL;
    if (save_dir && !(saver = filesaver_new(save_dir, err, sizeof err))) {
        cli_error("consume", "--save-dir: %s", err);
        return EXIT_USAGE;
    }
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k))) {
        filesaver_free(saver);
        return r;
    }
    kconsumer_t *c = kconsumer_new(k, argv[optind], grp, from_beginning, err, sizeof err);
    if (!c) {
        cli_error("consume", "%s", err);
        kconf_free(k);
        filesaver_free(saver);
        return EXIT_FAIL;
    }
    cli_on_signal(on_stop, NULL);
    long long seen = 0, saved = 0, bad = 0;
    int rc = EXIT_OK;
    int64_t last = util_mono_ms();
    while (!stop && (!count || seen < count)) {
        kmsg_t m;
        int got = kconsumer_next(c, &m, 200, err, sizeof err);
        if (got < 0) {
            cli_error("consume", "%s", err);
            rc = EXIT_FAIL;
            break;
        }
        if (got == 0) {
            if (idle > 0 && util_mono_ms() - last >= (int64_t)(idle * 1000))
                break;
            continue;
        }
        last = util_mono_ms();
        seen++;
        if (saver) {
            char msg[1024];
            filesaver_event_t ev = filesaver_add(saver, m.value, m.value ? m.len : 0, msg, sizeof msg);
            if (ev == FILESAVER_SAVED)
                saved++;
            else if (ev != FILESAVER_PENDING)
                bad++;
            if (ev != FILESAVER_PENDING) {
                printf("%s  [%s %d @%lld]\n", msg, m.topic, (int)m.partition, (long long)m.offset);
                fflush(stdout);
            }
            continue;
        }
        print_record(&m, raw);
    }
    if (saver) {
        bad += filesaver_finish(saver, report_line, NULL);
        filesaver_free(saver);
    }
    fflush(stdout);
    kconsumer_free(c);
    kconf_free(k);
    if (save_dir)
        fprintf(stderr, "streamlab consume: %lld records, %lld files saved, %lld not saved\n",
                seen, saved, bad);
    else if (!raw)
        fprintf(stderr, "streamlab consume: %lld records\n", seen);
    return rc ? rc : bad ? EXIT_FAIL : EXIT_OK;
}
