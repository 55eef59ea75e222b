/* broker.c — see broker.h.
 *
 * Relay design: the accept thread blocks in accept(); each accepted client
 * gets a thread that connects upstream and copies bytes both ways with poll().
 * Connections are few (clients use the relay only as a bootstrap server), so a
 * thread each keeps it obvious.  broker_stop() shuts every socket down, which
 * wakes the threads, then joins them. */
#include "engine/kafka/broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "engine/kafka/topics.h"
#include "engine/util.h"

typedef struct relay_conn {
    int client, upstream;
    atomic_bool done;
    pthread_t thread;
    struct relay_conn *next;
} relay_conn_t;

struct broker {
    rd_kafka_t *rk; /* owns the mock cluster's book keeping */
    rd_kafka_mock_cluster_t *mcluster;
    int nbrokers;
    char address[300];
    struct sockaddr_storage upstream;
    socklen_t upstream_len;
    int listen_fd;
    pthread_t accept_thread;
    atomic_bool stopping;
    pthread_mutex_t lock;
    relay_conn_t *conns;
};

static int resolve(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    if (getaddrinfo(host, portstr, &hints, &ai))
        return -1;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

/* Copies what is readable on `from` to `to`; returns -1 at EOF or error. */
static int pump(int from, int to)
{
    char buf[65536];
    ssize_t n = recv(from, buf, sizeof buf, 0);
    if (n <= 0)
        return -1;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = send(to, buf + off, n - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += w;
    }
    return 0;
}

static void *relay_conn_main(void *arg)
{
    relay_conn_t *c = arg;
    util_block_signals();
    struct pollfd p[2] = {{.fd = c->client, .events = POLLIN}, {.fd = c->upstream, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents && pump(c->client, c->upstream) < 0)
            break;
        if (p[1].revents && pump(c->upstream, c->client) < 0)
            break;
    }
    shutdown(c->client, SHUT_RDWR);
    shutdown(c->upstream, SHUT_RDWR);
    atomic_store(&c->done, true);
    return NULL;
}

static void conn_free(relay_conn_t *c)
{
    pthread_join(c->thread, NULL);
    close(c->client);
    close(c->upstream);
    free(c);
}

/* Joins and frees connections whose clients have gone (called on accept). */
static void reap(broker_t *b)
{
    pthread_mutex_lock(&b->lock);
    for (relay_conn_t **pp = &b->conns; *pp;) {
        relay_conn_t *c = *pp;
        if (atomic_load(&c->done)) {
            *pp = c->next;
            conn_free(c);
        } else {
            pp = &c->next;
        }
    }
    pthread_mutex_unlock(&b->lock);
}

static void *accept_main(void *arg)
{
    broker_t *b = arg;
    util_block_signals();
    while (!atomic_load(&b->stopping)) {
        int fd = accept(b->listen_fd, NULL, NULL);
        reap(b);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break; /* listen socket shut down */
        }
        int up = socket(b->upstream.ss_family, SOCK_STREAM, 0);
        if (up < 0 || connect(up, (struct sockaddr *)&b->upstream, b->upstream_len) < 0) {
            if (up >= 0)
                close(up);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        relay_conn_t *c = xcalloc(1, sizeof *c);
        c->client = fd;
        c->upstream = up;
        pthread_mutex_lock(&b->lock);
        c->next = b->conns;
        b->conns = c;
        if (pthread_create(&c->thread, NULL, relay_conn_main, c)) {
            b->conns = c->next;
            close(fd);
            close(up);
            free(c);
        }
        pthread_mutex_unlock(&b->lock);
    }
    return NULL;
}

static int relay_listen(broker_t *b, const char *addr, char *errstr, size_t errstr_size)
{
    char host[256];
    int port;
    struct sockaddr_storage ss;
    socklen_t len;
    if (util_split_hostport(addr, host, sizeof host, &port) < 0) {
        snprintf(errstr, errstr_size, "--listen expects HOST:PORT, got \"%s\"", addr);
        return -1;
    }
    if (resolve(host, port, &ss, &len) < 0) {
        snprintf(errstr, errstr_size, "cannot resolve listen host \"%s\"", host);
        return -1;
    }
    b->listen_fd = socket(ss.ss_family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(b->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&ss, len) < 0 ||
        listen(b->listen_fd, 64) < 0) {
        snprintf(errstr, errstr_size, "cannot listen on %s: %s%s", addr, strerror(errno),
                 errno == EADDRINUSE ? " (is another broker running? try --listen 127.0.0.1:0)"
                                     : "");
        return -1;
    }
    len = sizeof ss;
    getsockname(b->listen_fd, (struct sockaddr *)&ss, &len);
    int real_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                  : ((struct sockaddr_in6 *)&ss)->sin6_port);
    snprintf(b->address, sizeof b->address, "%s:%d", host, real_port);
    return 0;
}

/* Topic creation is a round trip to the mock's own thread, which in
 * librdkafka 2.0.2 sometimes notices the request only when its 1 s poll times
 * out.  One at a time, 19 topics could take seconds; in parallel they share
 * the wait. */
typedef struct create_job {
    rd_kafka_mock_cluster_t *mcluster;
    const char *topic;
    int partitions;
    rd_kafka_resp_err_t err;
    pthread_t thread;
} create_job_t;

static void *create_main(void *arg)
{
    create_job_t *j = arg;
    j->err = rd_kafka_mock_topic_create(j->mcluster, j->topic, j->partitions, 1);
    return NULL;
}

static int create_topics(rd_kafka_mock_cluster_t *mc, const char *const *topics, int partitions,
                         char *errstr, size_t errstr_size)
{
    size_t n = 0;
    while (topics[n])
        n++;
    create_job_t *jobs = xcalloc(n, sizeof *jobs);
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (create_job_t){.mcluster = mc, .topic = topics[i], .partitions = partitions};
        if (pthread_create(&jobs[i].thread, NULL, create_main, &jobs[i]))
            create_main(&jobs[i]), jobs[i].thread = 0;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].thread)
            pthread_join(jobs[i].thread, NULL);
        if (jobs[i].err && rc == 0) {
            snprintf(errstr, errstr_size, "creating topic %s: %s", jobs[i].topic,
                     rd_kafka_err2str(jobs[i].err));
            rc = -1;
        }
    }
    free(jobs);
    return rc;
}

broker_t *broker_start(const char *listen, int nbrokers, int partitions, char *errstr,
                       size_t errstr_size)
{
    broker_t *b = xcalloc(1, sizeof *b);
    b->listen_fd = -1;
    pthread_mutex_init(&b->lock, NULL);
    if (relay_listen(b, listen, errstr, errstr_size) < 0)
        goto fail;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    b->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    if (!b->rk) {
        rd_kafka_conf_destroy(conf);
        goto fail;
    }
    b->nbrokers = nbrokers;
    b->mcluster = rd_kafka_mock_cluster_new(b->rk, nbrokers);
    if (!b->mcluster) {
        snprintf(errstr, errstr_size, "cannot start the embedded broker");
        goto fail;
    }
    if (create_topics(b->mcluster, topics_seed, partitions, errstr, errstr_size) < 0)
        goto fail;
    /* Bootstraps look like "127.0.0.1:34567,127.0.0.1:40123": relay to the first. */
    const char *bs = rd_kafka_mock_cluster_bootstraps(b->mcluster);
    char host[256];
    int port;
    char first[300];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(bs, ","), bs);
    if (util_split_hostport(first, host, sizeof host, &port) < 0 ||
        resolve(host, port, &b->upstream, &b->upstream_len) < 0) {
        snprintf(errstr, errstr_size, "embedded broker gave an unusable address \"%s\"", bs);
        goto fail;
    }
    if (pthread_create(&b->accept_thread, NULL, accept_main, b)) {
        snprintf(errstr, errstr_size, "cannot start the relay thread");
        goto fail;
    }
    return b;
fail:
    if (b->mcluster)
        rd_kafka_mock_cluster_destroy(b->mcluster);
    if (b->rk)
        rd_kafka_destroy(b->rk);
    if (b->listen_fd >= 0)
        close(b->listen_fd);
    pthread_mutex_destroy(&b->lock);
    free(b);
    return NULL;
}

const char *broker_address(const broker_t *b) { return b->address; }

int broker_create_topic(broker_t *b, const char *topic, int partitions, char *errstr,
                        size_t errstr_size)
{
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(b->mcluster, topic, partitions, 1);
    if (err) {
        snprintf(errstr, errstr_size, "creating topic %s: %s", topic, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int broker_fault(broker_t *b, const char *command, char *reply, size_t reply_size)
{
    char verb[16] = "";
    long long a = -1, x = -1, y = -1;
    int n = sscanf(command, "%15s %lld %lld %lld", verb, &a, &x, &y);
    if (n < 1) {
        snprintf(reply, reply_size, "empty command");
        return -1;
    }
    int first = 1, last = b->nbrokers;
    if (!strcmp(verb, "down") || !strcmp(verb, "up")) {
        if (n >= 2) {
            if (a < 1 || a > b->nbrokers) {
                snprintf(reply, reply_size, "no broker %lld (1..%d)", a, b->nbrokers);
                return -1;
            }
            first = last = (int)a;
        }
        for (int id = first; id <= last; id++) {
            rd_kafka_resp_err_t err = !strcmp(verb, "down")
                                          ? rd_kafka_mock_broker_set_down(b->mcluster, id)
                                          : rd_kafka_mock_broker_set_up(b->mcluster, id);
            if (err) {
                snprintf(reply, reply_size, "%s %d: %s", verb, id, rd_kafka_err2str(err));
                return -1;
            }
        }
        if (first == last)
            snprintf(reply, reply_size, "broker %d %s", first, verb);
        else
            snprintf(reply, reply_size, "brokers %d..%d %s", first, last, verb);
        return 0;
    }
    if (!strcmp(verb, "rtt")) {
        if (n < 2 || a < 0) {
            snprintf(reply, reply_size, "usage: rtt MS [ID]");
            return -1;
        }
        if (n >= 3)
            first = last = (int)x;
        for (int id = first; id <= last; id++)
            if (rd_kafka_mock_broker_set_rtt(b->mcluster, id, (int)a)) {
                snprintf(reply, reply_size, "rtt: no broker %d", id);
                return -1;
            }
        snprintf(reply, reply_size, "%lld ms added to every response", a);
        return 0;
    }
    if (!strcmp(verb, "error")) {
        if (n < 3 || a < 0 || a > 100) {
            snprintf(reply, reply_size, "usage: error API CODE [COUNT]");
            return -1;
        }
        size_t cnt = n >= 4 && y > 0 ? (size_t)y : 1;
        rd_kafka_resp_err_t *errs = xcalloc(cnt, sizeof *errs);
        for (size_t i = 0; i < cnt; i++)
            errs[i] = (rd_kafka_resp_err_t)x;
        rd_kafka_mock_push_request_errors_array(b->mcluster, (int16_t)a, cnt, errs);
        free(errs);
        snprintf(reply, reply_size, "the next %zu requests of API %lld fail with %s", cnt, a,
                 rd_kafka_err2str((rd_kafka_resp_err_t)x));
        return 0;
    }
    snprintf(reply, reply_size, "unknown command \"%s\" (down, up, rtt, error)", verb);
    return -1;
}

void broker_stop(broker_t *b)
{
    if (!b)
        return;
    atomic_store(&b->stopping, true);
    shutdown(b->listen_fd, SHUT_RDWR);
    pthread_join(b->accept_thread, NULL);
    close(b->listen_fd);
    pthread_mutex_lock(&b->lock);
    relay_conn_t *c = b->conns;
    b->conns = NULL;
    pthread_mutex_unlock(&b->lock);
    while (c) {
        relay_conn_t *next = c->next;
        shutdown(c->client, SHUT_RDWR);
        shutdown(c->upstream, SHUT_RDWR);
        conn_free(c);
        c = next;
    }
    rd_kafka_mock_cluster_destroy(b->mcluster);
    rd_kafka_destroy(b->rk);
    pthread_mutex_destroy(&b->lock);
    free(b);
}
