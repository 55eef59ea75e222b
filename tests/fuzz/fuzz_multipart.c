/* fuzz_multipart.c — the upload page's POST /upload (producers/webserver.c):
 * arbitrary multipart bodies through libmicrohttpd's post processor, the
 * spool file, type detection (libmagic) and the uploader, on a real server
 * on 127.0.0.1 that sends accepted files to an embedded broker in this
 * process (librdkafka's mock cluster).
 *
 * Input: "BOUNDARY\n" then the body (see upload_post.h).  Invariants: every
 * request gets an HTTP answer with one of the documented statuses and a JSON
 * body, and once it has answered no spool file stays in its temporary
 * directory ("the temporary file is removed in every case"). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/kafka/broker.h"
#include "engine/util.h"
#include "producers/webserver.h"
#include "fuzzlib.h"
#include "upload_post.h"

static char spool[256];
static int port;

static void start(void)
{
    /* libFuzzer's -timeout runs on SIGALRM, which would land in any thread and
     * interrupt the server's and librdkafka's system calls (a program of ours
     * never gets it): the threads started here block it, and the main thread,
     * which unblocks it again below, takes it. */
    sigset_t alrm, old;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, &old);
    char err[512];
    broker_t *b = broker_start("127.0.0.1:0", 1, 3, err, sizeof err);
    FUZZ_CHECK(b != NULL, "broker_start: %s", err);
    kconf_t *k = kconf_new(broker_address(b), 10000);
    snprintf(spool, sizeof spool, "%s/streamlab-fuzz-spool-%d",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    mkdir(spool, 0700);
    static webserver_opts_t o;
    webserver_opts_init(&o);
    o.listen = "127.0.0.1:0";
    o.max_bytes = 256 * 1024;
    o.tmpdir = spool;
    webserver_t *w = webserver_start(k, &o, err, sizeof err);
    FUZZ_CHECK(w != NULL, "webserver_start: %s", err);
    const char *addr = webserver_address(w);
    port = atoi(strrchr(addr, ':') + 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    /* The broker, kconf and server live until the process ends. */
}

static int spool_files(void)
{
    DIR *h = opendir(spool);
    int n = 0;
    struct dirent *e;
    while (h && (e = readdir(h)) != NULL)
        n += strncmp(e->d_name, "streamlab-upload-", 17) == 0;
    if (h)
        closedir(h);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!port)
        start();
    char resp[8192];
    int status = upload_post(port, data, size, resp, sizeof resp);
    FUZZ_CHECK(status > 0, "no HTTP answer (%s): %.200s", strerror(errno), resp);
    FUZZ_CHECK(status == 200 || status == 400 || status == 413 || status == 415 || status == 502,
               "status %d: %.300s", status, resp);
    const char *json = strstr(resp, "\r\n\r\n");
    FUZZ_CHECK(json != NULL, "no body: %.200s", resp);
    json_error_t je;
    json_t *v = json_loads(json + 4, 0, &je);
    FUZZ_CHECK(json_is_object(v), "the answer is not a JSON object (%s): %.300s", je.text,
               json + 4);
    json_decref(v);
    /* The request-completed callback runs after the answer went out: wait for it. */
    int left = 0;
    for (int i = 0; i < 200 && (left = spool_files()) > 0; i++)
        util_sleep_ms(5);
    FUZZ_CHECK(left == 0, "%d spool files stayed in %s", left, spool);
    return 0;
}
