/* metricsrv.c — see metricsrv.h.
 *
 * One libmicrohttpd daemon with its internal polling thread: a scrape is a
 * short read of snapshots, so one thread answers them all and a slow client
 * holds nobody up but itself (MHD multiplexes connections).  The exposition
 * is written into a memory stream and handed to MHD, which frees it. */
#include "tui/metricsrv.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/admin.h"
#include "engine/kafka/metrics.h"
#include "engine/util.h"

#define SAMPLE_MS 1000
#define MAX_ENGINES 8
#define MAX_READS 16

/* metricsrv_start_engines's state: the lag of each group (sampler writes,
 * collect reads, under lock). */
typedef struct engines_ctx {
    const kconf_t *k;
    engine_t *engines[MAX_ENGINES];
    const char *groups[MAX_ENGINES];
    size_t n;
    pthread_mutex_t lock;
    json_t *lag[MAX_ENGINES];
} engines_ctx_t;

struct metricsrv {
    struct MHD_Daemon *d;
    metricsrv_collect_fn collect;
    metricsrv_sample_fn sample;
    void *ctx;
    engines_ctx_t *own; /* metricsrv_start_engines's, freed with the server */
    pthread_t sampler;
    bool sampling;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool quit;
    char address[300];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return reply(c, status, "text/plain; charset=utf-8", xstrdup(text), strlen(text));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version, (void)data, (void)data_size, (void)con_cls;
    metricsrv_t *m = cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
    if (!strcmp(url, "/"))
        return reply_text(c, MHD_HTTP_OK, "streamlab: the metrics are at /metrics\n");
    if (strcmp(url, "/metrics"))
        return reply_text(c, MHD_HTTP_NOT_FOUND, "no such page; the metrics are at /metrics\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    m->collect(m->ctx, out);
    fclose(out);
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len);
}

static void *sampler_main(void *arg)
{
    metricsrv_t *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->quit) {
        pthread_mutex_unlock(&m->mu);
        m->sample(m->ctx);
        pthread_mutex_lock(&m->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += SAMPLE_MS / 1000;
        while (!m->quit && pthread_cond_timedwait(&m->wake, &m->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

metricsrv_t *metricsrv_start(const char *listen, metricsrv_collect_fn collect,
                             metricsrv_sample_fn sample, void *ctx, char *errstr,
                             size_t errstr_size)
{
    char host[256], full[300];
    int port;
    if (!strchr(listen, ':')) { /* a port alone: loopback */
        snprintf(full, sizeof full, "127.0.0.1:%s", listen);
        listen = full;
    }
    if (util_split_hostport(listen, host, sizeof host, &port) < 0) {
        snprintf(errstr, errstr_size, "--metrics wants HOST:PORT or PORT, got \"%s\"", listen);
        return NULL;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, !strcmp(host, "localhost") ? "127.0.0.1" : host, &sa.sin_addr) != 1) {
        snprintf(errstr, errstr_size, "--metrics: \"%s\" is not an IPv4 address", host);
        return NULL;
    }
    metricsrv_t *m = xcalloc(1, sizeof *m);
    m->collect = collect;
    m->sample = sample;
    m->ctx = ctx;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->wake, NULL);
    /* The threads started here inherit this mask: signals stay the main thread's. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV), sigdelset(&all, SIGBUS), sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL), sigdelset(&all, SIGABRT);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
                            on_request, m, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
    if (m->d && sample)
        m->sampling = !pthread_create(&m->sampler, NULL, sampler_main, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->d) {
        snprintf(errstr, errstr_size,
                 "--metrics: cannot listen on %s (in use, or not an address of this machine)",
                 listen);
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(m->address, sizeof m->address, "%s:%u", host, info ? info->port : (unsigned)port);
    return m;
}

const char *metricsrv_address(const metricsrv_t *m) { return m->address; }

void metricsrv_stop(metricsrv_t *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d); /* no collect runs after this */
    if (m->sampling) {
        pthread_mutex_lock(&m->mu);
        m->quit = true;
        pthread_cond_broadcast(&m->wake);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->sampler, NULL);
    }
    if (m->own) {
        for (size_t i = 0; i < m->own->n; i++)
            json_decref(m->own->lag[i]);
        pthread_mutex_destroy(&m->own->lock);
        free(m->own);
    }
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* --- over engines the caller runs ------------------------------------------ */

static void engines_sample(void *arg)
{
    engines_ctx_t *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        /* the topics the group reads: lag counts them before its first commit */
        const char *reads[MAX_READS + 1] = {NULL};
        engine_read_topics(c->engines[i], reads, MAX_READS);
        char err[512];
        json_t *lag = admin_group_lag(c->k, c->groups[i], reads, err, sizeof err);
        pthread_mutex_lock(&c->lock);
        json_decref(c->lag[i]);
        c->lag[i] = lag; /* NULL while the broker does not answer: no lag shown */
        pthread_mutex_unlock(&c->lock);
    }
}

static void engines_collect(void *arg, FILE *out)
{
    engines_ctx_t *c = arg;
    metrics_engine_t v[MAX_ENGINES];
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++)
        v[i] = (metrics_engine_t){.e = c->engines[i], .group = c->groups[i],
                                  .lag = json_incref(c->lag[i])};
    pthread_mutex_unlock(&c->lock);
    metrics_write(out, v, c->n);
    for (size_t i = 0; i < c->n; i++)
        json_decref((json_t *)v[i].lag);
}

metricsrv_t *metricsrv_start_engines(const char *listen, const kconf_t *k,
                                     engine_t *const *engines, const char *const *groups,
                                     size_t n, char *errstr, size_t errstr_size)
{
    engines_ctx_t *c = xcalloc(1, sizeof *c);
    c->k = k;
    c->n = n < MAX_ENGINES ? n : MAX_ENGINES;
    for (size_t i = 0; i < c->n; i++) {
        c->engines[i] = engines[i];
        c->groups[i] = groups[i];
    }
    pthread_mutex_init(&c->lock, NULL);
    metricsrv_t *m = metricsrv_start(listen, engines_collect, engines_sample, c, errstr,
                                     errstr_size);
    if (!m) {
        pthread_mutex_destroy(&c->lock);
        free(c);
        return NULL;
    }
    m->own = c;
    return m;
}
