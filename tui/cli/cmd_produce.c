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

static const char usage[] =
    "usage: streamlab produce transactions [-b HOST:PORT] [--rate N] [--count N] [--seed N]\n"
    "                                      [--duration S] [--topic T]\n"
    "       streamlab produce video [-b HOST:PORT] [--source synthetic|FILE|/dev/videoN]\n"
    "                               [--fps N | --interval S] [--count N] [--duration S]\n"
    "                               [--width W --height H] [--quality Q] [--loop] [--topic T]\n"
    "\n"
    "Sends generated e-commerce transactions (the original project's generator) to the\n"
    "`transactions` topic, keyed by user_id, with an idempotent acks=all producer, and\n"
    "prints a summary of what the broker acknowledged.\n"
    "\n"
    "  --rate N     records per second (default 10; 0 = as fast as possible)\n"
    "  --count N    stop after N records (default: until Ctrl-C)\n"
    "  --seed N     generator seed, for repeatable data\n"
    "  --topic T    write to T instead of transactions (video: instead of video_frames)\n"
    "  --duration S stop after S seconds (as the original's --duration)\n"
    "  --out-of-order S     jitter event times back by up to S seconds\n"
    "  --late-fraction F    this share (0-1) is 35-65 s old: late for 30 s windows\n"
    "  --bad-fraction F     this share (0-1) is malformed, for the dead-letter topic\n"
    "\n"
    "video: sends JPEG frames (base64 in the original's JSON) to `video_frames`, keyed by\n"
    "source: sample_generator (synthetic), video_file (FILE) or webcam (/dev/videoN).\n"
    "  --source S   synthetic (default): a moving pattern with the frame number drawn on it;\n"
    "               FILE: any video FFmpeg reads; /dev/videoN: a V4L2 webcam\n"
    "  --fps N      frames per second (default: the file's rate, else 5; 0 = flat out)\n"
    "  --interval S seconds between frames, the original's option (= --fps 1/S); a FILE\n"
    "               is sampled as the original does: one frame per S seconds of the\n"
    "               video, the frames between are skipped\n"
    "  --count N    stop after N frames (default: until Ctrl-C or the end of the file)\n"
    "  --width W --height H   frame size (default: the source's; synthetic 640x480)\n"
    "  --quality Q  JPEG quality 1-100 (default 80)\n"
    "  --loop       start the file again at its end\n"
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

int cmd_produce(int argc, char **argv)
{
    static const struct option longopts[] = {{"rate", required_argument, 0, 'r'},
                                             {"count", required_argument, 0, 'c'},
                                             {"seed", required_argument, 0, 's'},
                                             {"topic", required_argument, 0, 't'},
                                             {"out-of-order", required_argument, 0, 'O'},
                                             {"late-fraction", required_argument, 0, 'L'},
                                             {"bad-fraction", required_argument, 0, 'B'},
                                             {"source", required_argument, 0, 'S'},
                                             {"fps", required_argument, 0, 'F'},
                                             {"width", required_argument, 0, 'W'},
                                             {"height", required_argument, 0, 'H'},
                                             {"quality", required_argument, 0, 'Q'},
                                             {"loop", no_argument, 0, 'l'},
                                             {"interval", required_argument, 0, 'I'},
                                             {"duration", required_argument, 0, 'D'},
                                             CLI_COMMON_LONGOPTS,
                                             {0}};
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    double rate = 10;
    long long count = 0, seed = 0;
    const char *topic = NULL;
    video_args_t va = {.source = "synthetic", .fps = -1, .quality = 80};
    bool video_only = false;
    double ooo = 0, late = 0, bad = 0, duration = 0;
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
        case 'S': va.source = optarg; video_only = true; break;
        case 'F':
            if (cli_number("produce", "--fps", optarg, &va.fps) < 0)
                return EXIT_USAGE;
            video_only = true;
            break;
        case 'W':
        case 'H':
            if (cli_count("produce", opt == 'W' ? "--width" : "--height", optarg,
                          opt == 'W' ? &va.width : &va.height) < 0)
                return EXIT_USAGE;
            video_only = true;
            break;
        case 'Q':
            if (cli_count("produce", "--quality", optarg, &va.quality) < 0)
                return EXIT_USAGE;
            video_only = true;
            break;
        case 'l': va.loop = video_only = true; break;
        case 'I': {
            double iv;
            if (cli_number("produce", "--interval", optarg, &iv) < 0)
                return EXIT_USAGE;
            if (iv <= 0) {
                cli_error("produce", "--interval is a number of seconds > 0 (got %s)", optarg);
                return EXIT_USAGE;
            }
            va.fps = 1.0 / iv;
            video_only = true;
            break;
        }
        case 'D':
            if (cli_number("produce", "--duration", optarg, &duration) < 0)
                return EXIT_USAGE;
            break;
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
        cli_error("produce", "what to produce? (transactions or video)");
        fputs(usage, stderr);
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
