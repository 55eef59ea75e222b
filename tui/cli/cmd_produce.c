/* cmd_produce.c — `streamlab produce transactions|video`. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/util.h"
#include "producers/txproducer.h"
#include "producers/vidproducer.h"
#include "tui/cli/cli.h"

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

typedef struct vrun {
    vidprod_t *p;
    int rc;
    char err[512];
    atomic_bool done;
    double secs;
} vrun_t;

static void on_stop_video(void *arg) { vidprod_stop(arg); }

static void *vrun_main(void *arg)
{
    vrun_t *r = arg;
    int64_t t0 = util_mono_us();
    r->rc = vidprod_run(r->p, r->err, sizeof r->err);
    r->secs = (util_mono_us() - t0) / 1e6;
    atomic_store(&r->done, true);
    return NULL;
}

typedef struct video_args {
    const char *source, *topic;
    double fps;      /* < 0: not given */
    double duration; /* > 0: stop after this many seconds */
    long long count, width, height, quality;
    bool loop;
} video_args_t;

static int produce_video(const cli_kafka_t *ck, const video_args_t *va)
{
    if (va->quality < 1 || va->quality > 100) {
        cli_error("produce", "--quality is 1-100 (got %lld)", va->quality);
        return EXIT_USAGE;
    }
    char err[512];
    frames_opts_t fo = {.width = (int)va->width, .height = (int)va->height, .loop = va->loop};
    if (va->width > 8192 || va->height > 8192) {
        cli_error("produce", "--width and --height go up to 8192");
        return EXIT_USAGE;
    }
    frames_t *src = frames_open(va->source, &fo, err, sizeof err);
    if (!src) {
        cli_error("produce", "%s", err);
        return EXIT_FAIL;
    }
    bool is_file = !strcmp(frames_source_name(src), "video_file");
    double fps = va->fps >= 0 ? va->fps : is_file ? frames_native_fps(src) : 5;
    int64_t total = frames_total(src);
    const char *name = frames_source_name(src);
    kconf_t *k;
    int r;
    if ((r = cli_kafka_connect(ck, &k))) {
        frames_free(src);
        return r;
    }
    vrun_t run = {0};
    run.p = vidprod_new(k, va->topic, src, fps, (uint64_t)va->count, (int)va->quality, run.err,
                        sizeof run.err);
    if (!run.p) {
        cli_error("produce", "%s", run.err);
        kconf_free(k);
        return EXIT_USAGE;
    }
    cli_on_signal(on_stop_video, run.p);
    pthread_t th;
    pthread_create(&th, NULL, vrun_main, &run);
    bool tty = isatty(2);
    int64_t t0 = util_mono_ms();
    while (!atomic_load(&run.done)) {
        util_sleep_ms(tty ? 200 : 20);
        if (va->duration > 0 && util_mono_ms() - t0 >= va->duration * 1000)
            vidprod_stop(run.p);
        if (tty) {
            vidprod_stats_t s;
            vidprod_stats(run.p, &s);
            double el = (util_mono_ms() - t0) / 1000.0;
            if (total > 0 && !va->loop)
                fprintf(stderr, "\r%s: frame %llu of %lld (%.0f%%), %.1f fps, delivered %llu ",
                        name, (unsigned long long)s.sent, (long long)total,
                        100.0 * (double)s.sent / (double)total, el > 0 ? s.sent / el : 0.0,
                        (unsigned long long)s.delivered);
            else
                fprintf(stderr, "\r%s: %llu frames, %.1f fps, delivered %llu ", name,
                        (unsigned long long)s.sent, el > 0 ? s.sent / el : 0.0,
                        (unsigned long long)s.delivered);
        }
    }
    pthread_join(th, NULL);
    if (tty)
        fputc('\n', stderr);
    vidprod_stats_t s;
    vidprod_stats(run.p, &s);
    double secs = run.secs;
    printf("produced %llu %s frames to %s in %.2f s (%.1f frames/s, %.1f KB JPEG each): "
           "%llu delivered, %llu failed\n",
           (unsigned long long)s.sent, name, va->topic, secs, secs > 0 ? s.delivered / secs : 0.0,
           s.sent ? s.jpeg_bytes / 1024.0 / s.sent : 0.0, (unsigned long long)s.delivered,
           (unsigned long long)s.failed);
    if (run.rc)
        cli_error("produce", "%s", run.err);
    vidprod_free(run.p);
    kconf_free(k);
    return run.rc ? EXIT_FAIL : EXIT_OK;
}

typedef struct produce_args {
    double rate;
    long long count, seed;
    const char *topic;
    video_args_t va;
    bool video_only; /* an option of `produce video` was given */
    double ooo, late, bad, duration, fraud;
} produce_args_t;

/* After any option of `produce video`. */
static int video_opt(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)cmd, (void)opt, (void)arg;
    ((produce_args_t *)args)->video_only = true;
    return 0;
}

static int set_interval(void *args, const char *cmd, const char *opt, const char *arg)
{
    produce_args_t *a = args;
    double iv;
    if (cli_number(cmd, opt, arg, &iv) < 0)
        return -1;
    if (iv <= 0) {
        cli_error(cmd, "--interval is a number of seconds > 0 (got %s)", arg);
        return -1;
    }
    a->va.fps = 1.0 / iv;
    a->video_only = true;
    return 0;
}

/* --late-fraction, --bad-fraction (already parsed as numbers) */
static int check_share(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)arg;
    produce_args_t *a = args;
    if ((!strcmp(opt, "--late-fraction") ? a->late : !strcmp(opt, "--fraud-fraction") ? a->fraud : a->bad) > 1) {
        cli_error(cmd, "%s is a share between 0 and 1", opt);
        return -1;
    }
    return 0;
}

#define A(field) offsetof(produce_args_t, field)
static const cli_table_t produce_table = {
    15, (const cli_opt_t[]){
            {"rate", 0, CLI_NUMBER, A(rate), .arg = "N",
             .help = "records per second (default 10; 0 = as fast as possible)"},
            {"count", 0, CLI_COUNT, A(count), .arg = "N",
             .help = "stop after N records (default: until Ctrl-C)"},
            {"seed", 0, CLI_COUNT, A(seed), .arg = "N", .help = "generator seed, for repeatable data"},
            {"topic", 0, CLI_STRING, A(topic), .arg = "T",
             .help = "write to T instead of transactions (video: instead of video_frames)"},
            {"duration", 0, CLI_NUMBER, A(duration), .arg = "S",
             .help = "stop after S seconds (as the original's --duration)"},
            {"out-of-order", 0, CLI_NUMBER, A(ooo), .arg = "S", .col = 23,
             .help = "jitter event times back by up to S seconds"},
            {"late-fraction", 0, CLI_NUMBER, A(late), .set = check_share, .arg = "F", .col = 23,
             .help = "this share (0-1) is 35-65 s old: late for 30 s windows"},
            {"bad-fraction", 0, CLI_NUMBER, A(bad), .set = check_share, .arg = "F", .col = 23,
             .help = "this share (0-1) is malformed, for the dead-letter topic"},
            {"fraud-fraction", 0, CLI_NUMBER, A(fraud), .set = check_share, .arg = "F", .col = 23,
             .help = "this share (0-1) starts a card-testing pair or near miss"},
            {.kind = CLI_TEXT,
             .help = "\n"
                     "video: sends JPEG frames (base64 in the original's JSON) to `video_frames`, keyed by\n"
                     "source: sample_generator (synthetic), video_file (FILE) or webcam (/dev/videoN).\n"},
            {"source", 0, CLI_STRING, A(va.source), .set = video_opt, .arg = "S",
             .help = "synthetic (default): a moving pattern with the frame number drawn on it;\n"
                     "FILE: any video FFmpeg reads; /dev/videoN: a V4L2 webcam"},
            {"fps", 0, CLI_NUMBER, A(va.fps), .set = video_opt, .arg = "N",
             .help = "frames per second (default: the file's rate, else 5; 0 = flat out)"},
            {"interval", 0, CLI_CUSTOM, .set = set_interval, .arg = "S",
             .help = "seconds between frames, the original's option (= --fps 1/S); a FILE\n"
                     "is sampled as the original does: one frame per S seconds of the\n"
                     "video, the frames between are skipped"},
            {"count", 0, CLI_MORE, .arg = "N",
             .help = "stop after N frames (default: until Ctrl-C or the end of the file)"},
            {"width", 0, CLI_COUNT, A(va.width), .set = video_opt, .left = "--width W --height H",
             .col = 25, .arg = "W", .help = "frame size (default: the source's; synthetic 640x480)"},
            {"height", 0, CLI_COUNT, A(va.height), .set = video_opt, .arg = "H"},
            {"quality", 0, CLI_COUNT, A(va.quality), .set = video_opt, .arg = "Q",
             .help = "JPEG quality 1-100 (default 80)"},
            {"loop", 0, CLI_FLAG, A(va.loop), .set = video_opt,
             .help = "start the file again at its end"},
            {0}}};
#undef A

static const cli_cmd_t produce_cmd = {
    .name = "produce",
    .usage =
    "usage: streamlab produce transactions [-b HOST:PORT] [--rate N] [--count N] [--seed N]\n"
    "                                      [--duration S] [--topic T] [--fraud-fraction F]\n"
    "       streamlab produce video [-b HOST:PORT] [--source synthetic|FILE|/dev/videoN]\n"
    "                               [--fps N | --interval S] [--count N] [--duration S]\n"
    "                               [--width W --height H] [--quality Q] [--loop] [--topic T]\n"
    "\n"
    "Sends generated e-commerce transactions (the original project's generator) to the\n"
    "`transactions` topic, keyed by user_id, with an idempotent acks=all producer in lz4\n"
    "batches (-X compression.codec=none sends them uncompressed), and prints a summary of\n"
    "what the broker acknowledged.\n"
    "\n",
    .tables = {&produce_table, &cli_kafka_table}};

int cmd_produce(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    produce_args_t a = {.rate = 10, .va = {.source = "synthetic", .fps = -1, .quality = 80}};
    int r = cli_parse(&produce_cmd, argc, argv, &a, &ck);
    if (r >= 0)
        return r;
    double rate = a.rate;
    long long count = a.count, seed = a.seed;
    const char *topic = a.topic;
    video_args_t va = a.va;
    bool video_only = a.video_only;
    double ooo = a.ooo, late = a.late, bad = a.bad, duration = a.duration, fraud = a.fraud;
    if (optind >= argc) {
        cli_error("produce", "what to produce? (transactions or video)");
        cli_usage(&produce_cmd, stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[optind], "video")) {
        va.topic = topic ? topic : "video_frames";
        va.count = count;
        va.duration = duration;
        return produce_video(&ck, &va);
    }
    if (strcmp(argv[optind], "transactions")) {
        cli_error("produce", "unknown kind \"%s\" (known: transactions, video)", argv[optind]);
        return EXIT_USAGE;
    }
    if (video_only) {
        cli_error("produce", "--source, --fps, --interval, --width, --height, --quality and "
                             "--loop are for `produce video`");
        return EXIT_USAGE;
    }
    if (!topic)
        topic = "transactions";
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
    txprod_set_fraud_fraction(run.p, fraud);
    cli_on_signal(on_stop, run.p);
    pthread_t th;
    pthread_create(&th, NULL, run_main, &run);
    bool tty = isatty(2);
    int64_t t0 = util_mono_ms();
    while (!atomic_load(&run.done)) {
        util_sleep_ms(tty ? 200 : 20);
        if (duration > 0 && util_mono_ms() - t0 >= duration * 1000)
            txprod_stop(run.p);
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
