/* cmd_upload.c — `streamlab upload FILE...`: send files to the upload topics,
 * one line per file saying where it landed; `--watch DIR` keeps uploading
 * what is dropped into DIR. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/util.h"
#include "producers/uploader.h"
#include "producers/watchdir.h"
#include "tui/cli/cli.h"

typedef struct upload_args {
    upload_opts_t uo;
    bool paced; /* a --pace was given: the default group is dropped */
    bool json;
    const char *watch;
} upload_args_t;

static int set_pace(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)cmd, (void)opt;
    upload_args_t *a = args;
    if (!a->paced)
        a->uo.npace = 0;
    a->paced = true;
    if (strcmp(arg, "none") && a->uo.npace < UPLOAD_MAX_PACE_GROUPS)
        a->uo.pace_groups[a->uo.npace++] = arg;
    return 0;
}

static int set_window(void *args, const char *cmd, const char *opt, const char *arg)
{
    double d;
    if (cli_number(cmd, opt, arg, &d) < 0 || d <= 0)
        return -1;
    ((upload_args_t *)args)->uo.window_bytes = (int64_t)(d * 1048576);
    return 0;
}

static int set_chunk_size(void *args, const char *cmd, const char *opt, const char *arg)
{
    long long n;
    if (cli_count(cmd, opt, arg, &n) < 0)
        return -1;
    if (n < 3 || n % 3 || n > UPLOAD_CHUNK_BYTES) {
        cli_error(cmd, "--chunk-size must be a multiple of 3 between 3 and %d", UPLOAD_CHUNK_BYTES);
        return -1;
    }
    ((upload_args_t *)args)->uo.chunk_bytes = (size_t)n;
    return 0;
}

#define A(field) offsetof(upload_args_t, field)
static const cli_table_t upload_table = {
    21, (const cli_opt_t[]){
            {"pace", 0, CLI_CUSTOM, .set = set_pace, .arg = "GROUP",
             .help = "do not run more than --window ahead of consumer group GROUP's\n"
                     "committed offsets (repeatable; default streamlab-engine, the\n"
                     "engine's group); the embedded broker keeps only ~5 MB a partition"},
            {"pace", 0, CLI_MORE, .arg = "none", .help = "send without waiting (fine on a real cluster)"},
            {"window", 0, CLI_CUSTOM, .set = set_window, .arg = "MB",
             .help = "unread megabytes allowed ahead of the slowest group (default 3)"},
            {"pace-timeout", 0, CLI_MS, A(uo.pace_timeout_ms), .arg = "S",
             .help = "fail when the groups read nothing for S seconds (default 60)"},
            {"max-size", 0, CLI_MB, A(uo.max_bytes), .arg = "MB",
             .help = "refuse files larger than this (default: no limit)"},
            {"chunk-size", 0, CLI_CUSTOM, .set = set_chunk_size, .arg = "N",
             .help = "chunk size in bytes, a multiple of 3 (default 715776)"},
            {"watch", 0, CLI_STRING, A(watch), .arg = "DIR",
             .help = "upload files that appear in DIR once their size is stable,\n"
                     "then move them to DIR/.sent/ (failed ones to DIR/.failed/)"},
            {"topic", 0, CLI_STRING, A(uo.topic), .arg = "T",
             .help = "send every file to T instead of its type's topic"},
            {"json", 0, CLI_FLAG, A(json), .help = "one JSON object per file instead of a line"},
            {0}}};
#undef A

static const cli_cmd_t upload_cmd = {
    .name = "upload",
    .usage =
    "usage: streamlab upload FILE... [-b HOST:PORT] [--pace GROUP|none] [--window MB]\n"
    "                                [--max-size MB] [--topic T] [--json]\n"
    "       streamlab upload --watch DIR [-b HOST:PORT] [options]\n"
    "\n"
    "Sends each file to uploaded_documents, uploaded_videos or uploaded_images (by its\n"
    "content, checked against its extension), keyed by its name, in the original's\n"
    "record format; files over 699 KiB go as ordered chunk records.  Prints one line per\n"
    "file: topic [partition] @offsets, size, MD5.  Exits non-zero if any file failed.\n"
    "\n",
    .tables = {&upload_table, &cli_kafka_table}};

typedef struct bar {
    const char *name;
    bool tty;
} bar_t;

static void on_progress(void *opaque, int64_t done, int64_t total)
{
    bar_t *b = opaque;
    if (!b->tty || total < 2 * UPLOAD_CHUNK_BYTES)
        return;
    int width = 30, fill = total ? (int)(done * width / total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r%-24.24s [%s] %5.1f%% %7.1f MB", b->name, bar,
            total ? 100.0 * done / total : 100.0, done / 1048576.0);
    fflush(stderr);
}

static void print_result(const upload_result_t *r, bool json)
{
    if (json) {
        printf("{\"ok\":true,\"filename\":\"%s\",\"file_id\":\"%s\",\"file_type\":\"%s\","
               "\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,\"last_offset\":%lld,"
               "\"chunks\":%lld,\"file_size\":%lld,\"file_hash\":\"%s\",\"sha256\":\"%s\"}\n",
               r->filename, r->file_id, r->file_type, r->topic, (int)r->partition,
               (long long)r->first_offset, (long long)r->last_offset, (long long)r->chunks,
               (long long)r->size, r->md5, r->sha256);
    } else if (r->chunks > 1) {
        printf("%s  %s  %lld bytes  -> %s [%d] @%lld..%lld (%lld chunks)  md5 %s\n", r->filename,
               r->file_type, (long long)r->size, r->topic, (int)r->partition,
               (long long)r->first_offset, (long long)r->last_offset, (long long)r->chunks,
               r->md5);
    } else {
        printf("%s  %s  %lld bytes  -> %s [%d] @%lld  md5 %s\n", r->filename, r->file_type,
               (long long)r->size, r->topic, (int)r->partition, (long long)r->first_offset,
               r->md5);
    }
    fflush(stdout);
}

static uploader_t *g_up;
static watchdir_t *g_watch;
static void on_stop(void *arg)
{
    (void)arg;
    if (g_up)
        uploader_cancel(g_up);
    if (g_watch)
        watchdir_stop(g_watch);
}

static int upload_one(uploader_t *u, const char *path, bool json)
{
    char err[512];
    upload_result_t r;
    bar_t b = {.name = path, .tty = isatty(2)};
    int rc = uploader_send_file(u, path, NULL, on_progress, &b, &r, err, sizeof err);
    if (b.tty && r.size >= 2 * UPLOAD_CHUNK_BYTES)
        fprintf(stderr, "\r%-80s\r", "");
    if (rc < 0) {
        if (json) {
            json_t *j = json_pack("{sbssss}", "ok", 0, "path", path, "error", err);
            char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
            printf("%s\n", s ? s : "{\"ok\":false}");
            free(s);
            json_decref(j);
            fflush(stdout);
        }
        cli_error("upload", "%s: %s", path, err);
        return -1;
    }
    print_result(&r, json);
    return 0;
}

static int on_watch_file(void *opaque, const char *path, char *err, size_t errsize)
{
    bool json = *(bool *)opaque;
    upload_result_t r;
    bar_t b = {.name = path, .tty = false};
    if (uploader_send_file(g_up, path, NULL, on_progress, &b, &r, err, errsize) < 0) {
        cli_error("upload", "%s: %s", path, err);
        return -1;
    }
    print_result(&r, json);
    return 0;
}

int cmd_upload(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    upload_args_t a = {0};
    upload_opts_init(&a.uo);
    int r = cli_parse(&upload_cmd, argc, argv, &a, &ck);
    if (r >= 0)
        return r;
    upload_opts_t uo = a.uo;
    bool json = a.json;
    const char *watch = a.watch;
    if (optind >= argc && !watch) {
        cli_error("upload", "which files? (or --watch DIR)");
        cli_usage(&upload_cmd, stderr);
        return EXIT_USAGE;
    }
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k)))
        return r;
    char err[512];
    uploader_t *u = uploader_new(k, &uo, err, sizeof err);
    if (!u) {
        cli_error("upload", "%s", err);
        kconf_free(k);
        return EXIT_FAIL;
    }
    g_up = u;
    cli_on_signal(on_stop, NULL);
    int failed = 0;
    for (int i = optind; i < argc && !cli_stopping(); i++)
        failed += upload_one(u, argv[i], json) < 0;
    if (watch && !cli_stopping()) {
        g_watch = watchdir_new(watch, on_watch_file, &json, err, sizeof err);
        if (!g_watch) {
            cli_error("upload", "%s", err);
            failed++;
        } else {
            fprintf(stderr, "streamlab upload: watching %s (Ctrl-C to stop)\n", watch);
            watchdir_run(g_watch);
            watchdir_free(g_watch);
            g_watch = NULL;
        }
    }
    g_up = NULL;
    uploader_free(u);
    kconf_free(k);
    return failed ? EXIT_FAIL : EXIT_OK;
}
