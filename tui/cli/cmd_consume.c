/* cmd_consume.c — `streamlab consume TOPIC...`: print records as they arrive, each
 * labelled with its topic (the original's monitor reads several topics at once). */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/kafka/consumer.h"
#include "engine/imgcodec.h"
#include "engine/util.h"
#include "producers/filesaver.h"
#include "tui/cli/cli.h"
#include "tui/frameart.h"

static void report_line(void *opaque, const char *msg)
{
    (void)opaque;
    printf("%s\n", msg);
}

static bool upload_topic(const char *t)
{
    return !strcmp(t, "uploaded_documents") || !strcmp(t, "uploaded_videos") ||
           !strcmp(t, "uploaded_images");
}

static volatile sig_atomic_t stop;
static void on_stop(void *arg) { (void)arg, stop = 1; }

static void print_record(const kmsg_t *m, bool raw, bool several)
{
    if (raw) {
        if (several)
            printf("%s\t", m->topic);
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

typedef struct frame_out {
    const char *save_dir;
    bool ascii, ansi;
    int cols;
    frameart_t *art;
    long long bad;
} frame_out_t;

/* A name safe to use as a file name: letters, digits, - _ . only. */
static void safe_name(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++) {
        char c = src[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || (c == '.' && i > 0);
        dst[i] = ok ? c : '_';
    }
    dst[i] = '\0';
}

/* Saves or draws one frame record; a record that is not a frame is
 * reported on stderr and counted, never fatal. */
static void handle_frame(const kmsg_t *m, frame_out_t *fo, long long seen)
{
    json_t *v = m->value ? json_loadb(m->value, m->len, 0, NULL) : NULL;
    json_t *data = json_object_get(v, "frame_data");
    size_t jlen = 0;
    uint8_t *jpeg = json_is_string(data) ? imgcodec_b64_decode(json_string_value(data),
                                                               json_string_length(data), &jlen)
                                         : NULL;
    const char *id = json_string_value(json_object_get(v, "frame_id"));
    char name[128], err[256];
    snprintf(name, sizeof name, "frame_%lld", seen);
    if (id && *id)
        safe_name(name, sizeof name, id);
    if (!jpeg) {
        fprintf(stderr, "streamlab consume: %s [%d] @%lld: %s\n", m->topic, (int)m->partition,
                (long long)m->offset,
                !v ? "not JSON" : !data ? "no frame_data field" : "frame_data is not base64");
        fo->bad++;
        json_decref(v);
        return;
    }
    int w = 0, h = 0;
    if (fo->save_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.jpg", fo->save_dir, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(jpeg, 1, jlen, f) != jlen) {
            fprintf(stderr, "streamlab consume: cannot write %s: %s\n", path, strerror(errno));
            fo->bad++;
        } else {
            imgcodec_jpeg_size(jpeg, jlen, &w, &h, err, sizeof err);
            printf("saved %s (%dx%d, %zu bytes)\n", path, w, h, jlen);
        }
        if (f)
            fclose(f);
    }
    if (fo->ascii) {
        uint8_t *rgb;
        /* Two pixels a cell across is plenty for the dither. */
        if (imgcodec_jpeg_decode(jpeg, jlen, 3, fo->cols * 4, 0, &rgb, &w, &h, err, sizeof err) < 0) {
            fprintf(stderr, "streamlab consume: %s @%lld: %s\n", m->topic, (long long)m->offset, err);
            fo->bad++;
        } else {
            /* Character cells are about twice as high as wide. */
            int rows = (int)((double)fo->cols * h / w / 2 + 0.5);
            frameart_render(fo->art, rgb, w, h, fo->cols, rows < 1 ? 1 : rows, fo->ansi);
            size_t n;
            char *text = frameart_text(fo->art, fo->ansi, &n);
            json_t *a = json_object_get(v, "analysis");
            printf("%s%s  %s  %lldx%lld%s%s", fo->ansi ? "\033[H\033[2J" : "", name,
                   json_string_value(json_object_get(v, "source")) ? json_string_value(json_object_get(v, "source")) : "?",
                   (long long)json_integer_value(json_object_get(v, "frame_width")),
                   (long long)json_integer_value(json_object_get(v, "frame_height")),
                   a ? "  brightness " : "", "");
            if (a)
                printf("%.2f", json_real_value(json_object_get(a, "brightness")));
            printf("\n");
            fwrite(text, 1, n, stdout);
            fflush(stdout);
            free(text);
            free(rgb);
        }
    }
    free(jpeg);
    json_decref(v);
}

typedef struct consume_args {
    const char *group;
    bool from_beginning, raw;
    long long count;
    double idle;
    frame_out_t fo;
    cli_kafka_t *ck;
} consume_args_t;

static int set_read_committed(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)cmd, (void)opt, (void)arg;
    cli_kafka_opt(((consume_args_t *)args)->ck, 'X', "isolation.level=read_committed");
    return 0;
}

static int set_cols(void *args, const char *cmd, const char *opt, const char *arg)
{
    long long cols;
    if (cli_count(cmd, opt, arg, &cols) < 0)
        return -1;
    if (cols < 8 || cols > 1000) {
        cli_error(cmd, "--cols is 8-1000");
        return -1;
    }
    ((consume_args_t *)args)->fo.cols = (int)cols;
    return 0;
}

#define A(field) offsetof(consume_args_t, field)
static const cli_table_t consume_table = {
    21, (const cli_opt_t[]){
            {"group", 0, CLI_STRING, A(group), .arg = "G",
             .help = "consumer group (default: a new one for this run)"},
            {"from-beginning", 0, CLI_FLAG, A(from_beginning),
             .help = "a group without committed offsets starts at the earliest record\n"
                     "(default: only new records)"},
            {"count", 0, CLI_COUNT, A(count), .arg = "N", .help = "exit after N records"},
            {"idle", 0, CLI_NUMBER, A(idle), .arg = "S",
             .help = "exit after S seconds without a record"},
            {"raw", 0, CLI_FLAG, A(raw),
             .help = "print only each value, one per line (for scripts); with several\n"
                     "topics, the topic, a tab, then the value"},
            {"read-committed", 0, CLI_CUSTOM, .set = set_read_committed,
             .help = "only records of committed transactions (what the engine's\n"
                     "exactly-once outputs guarantee; default: everything as it comes)"},
            {.kind = CLI_TEXT,
             .help = "\nUploads (uploaded_documents, uploaded_videos, uploaded_images):\n"},
            {"save-dir", 0, CLI_STRING, A(fo.save_dir), .arg = "DIR",
             .help = "rebuild each file (chunks in order), check its MD5 and save it in\n"
                     "DIR under its cleaned name (never outside DIR); says which files\n"
                     "were incomplete or corrupt (nothing partial is left); exit 1 then"},
            {.kind = CLI_TEXT,
             .help = "\nVideo frames (records with frame_data, e.g. video_frames, "
                     "processed_video_frames):\n"},
            {"save-dir", 0, CLI_MORE, .arg = "DIR",
             .help = "write each frame to DIR/<frame_id>.jpg and print one line per frame"},
            {"ascii", 0, CLI_FLAG, A(fo.ascii),
             .help = "print each frame as ASCII art (libcaca; ANSI colours when stdout\n"
                     "is a terminal, plain characters otherwise)"},
            {"cols", 0, CLI_CUSTOM, .set = set_cols, .arg = "N",
             .help = "width of the ASCII art in characters (default 80)"},
            {0}}};
#undef A

static const cli_cmd_t consume_cmd = {
    .name = "consume",
    .usage =
    "usage: streamlab consume TOPIC... [-b HOST:PORT] [--group G] [--from-beginning]\n"
    "                                  [--count N] [--raw] [--idle S] [--save-dir DIR]\n"
    "                                  [--ascii [--cols N]]\n"
    "\n"
    "Reads the TOPICs (one or several, e.g. `consume transactions processed_transactions\n"
    "user_aggregations`, as the original's monitor) as a member of consumer group G and\n"
    "prints each record: topic, partition, offset, key, then the value as indented JSON\n"
    "(as text if it is not JSON).\n"
    "\n",
    .tables = {&consume_table, &cli_kafka_table}};

int cmd_consume(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    /* Like Kafka's console consumer: everything as it arrives, unless asked
     * for committed transactions only (a -X given later still wins). */
    cli_kafka_opt(&ck, 'X', "isolation.level=read_uncommitted");
    char group[64];
    snprintf(group, sizeof group, "streamlab-consume-%d-%lld", (int)getpid(),
             (long long)util_wall_ms());
    consume_args_t a = {.group = group, .fo = {.cols = 80}, .ck = &ck};
    int r = cli_parse(&consume_cmd, argc, argv, &a, &ck);
    if (r >= 0)
        return r;
    const char *grp = a.group;
    bool from_beginning = a.from_beginning, raw = a.raw;
    long long count = a.count;
    double idle = a.idle;
    frame_out_t fo = a.fo;
    if (optind >= argc) {
        cli_error("consume", "which topic?");
        cli_usage(&consume_cmd, stderr);
        return EXIT_USAGE;
    }
    const char *const *topics = (const char *const *)argv + optind;
    size_t ntopics = (size_t)(argc - optind);
    bool uploads = true;
    for (size_t i = 0; i < ntopics; i++)
        uploads &= upload_topic(topics[i]);
    char err[512];
    filesaver_t *saver = NULL;
    if (fo.save_dir && uploads) { /* files, not frames */
        if (!(saver = filesaver_new(fo.save_dir, err, sizeof err))) {
            cli_error("consume", "--save-dir: %s", err);
            return EXIT_USAGE;
        }
        fo.save_dir = NULL;
    }
    if (fo.save_dir && mkdir(fo.save_dir, 0777) < 0 && errno != EEXIST) {
        cli_error("consume", "cannot create %s: %s", fo.save_dir, strerror(errno));
        return EXIT_FAIL;
    }
    fo.ansi = fo.ascii && isatty(1) && !getenv("NO_COLOR");
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k))) {
        filesaver_free(saver);
        return r;
    }
    /* An unknown topic is an error, never an endless wait (nor, on a broker
     * that auto-creates, a new topic). */
    if ((r = cli_topics_exist(k, "consume", topics, ntopics))) {
        kconf_free(k);
        filesaver_free(saver);
        return r;
    }
    kconsumer_t *c = kconsumer_new_topics(k, topics, ntopics, grp, from_beginning, err, sizeof err);
    if (!c) {
        cli_error("consume", "%s", err);
        kconf_free(k);
        filesaver_free(saver);
        return EXIT_FAIL;
    }
    long long saved = 0, notsaved = 0;
    cli_on_signal(on_stop, NULL);
    long long seen = 0;
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
        if (saver) {
            char msg[1024];
            filesaver_event_t ev = filesaver_add(saver, m.value, m.value ? m.len : 0, msg, sizeof msg);
            if (ev == FILESAVER_SAVED)
                saved++;
            else if (ev != FILESAVER_PENDING)
                notsaved++;
            if (ev != FILESAVER_PENDING) {
                printf("%s  [%s %d @%lld]\n", msg, m.topic, (int)m.partition, (long long)m.offset);
                fflush(stdout);
            }
        } else if (fo.save_dir || fo.ascii) {
            if (!fo.art)
                fo.art = frameart_new();
            handle_frame(&m, &fo, seen);
        } else {
            print_record(&m, raw, ntopics > 1);
        }
        seen++;
    }
    if (saver) {
        notsaved += filesaver_finish(saver, report_line, NULL);
        filesaver_free(saver);
        saver = NULL;
        fflush(stdout);
        fprintf(stderr, "streamlab consume: %lld records, %lld files saved, %lld not saved\n",
                seen, saved, notsaved);
        kconsumer_free(c);
        kconf_free(k);
        frameart_free(fo.art);
        return rc ? rc : notsaved ? EXIT_FAIL : EXIT_OK;
    }
    fflush(stdout);
    kconsumer_free(c);
    kconf_free(k);
    frameart_free(fo.art);
    if (!raw)
        fprintf(stderr, "streamlab consume: %lld records%s", seen, fo.bad ? "" : "\n");
    if (!raw && fo.bad)
        fprintf(stderr, ", %lld not frames or not saved\n", fo.bad);
    return rc;
}
