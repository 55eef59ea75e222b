/* kconf.c — see kconf.h and kafka.h. */
#include "engine/kafka/kconf.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/kafka/kafka.h"
#include "engine/util.h"

struct kconf {
    char *brokers;
    int timeout_ms;
    char **props; /* key, value, key, value, ... */
    size_t nprops;
};

kconf_t *kconf_new(const char *brokers, int timeout_ms)
{
    kconf_t *k = xcalloc(1, sizeof *k);
    k->brokers = xstrdup(brokers);
    k->timeout_ms = timeout_ms;
    return k;
}

void kconf_free(kconf_t *k)
{
    if (!k)
        return;
    for (size_t i = 0; i < k->nprops * 2; i++)
        free(k->props[i]);
    free(k->props);
    free(k->brokers);
    free(k);
}

int kconf_add(kconf_t *k, const char *keyval, char *errstr, size_t errstr_size)
{
    const char *eq = strchr(keyval, '=');
    if (!eq || eq == keyval) {
        snprintf(errstr, errstr_size, "-X expects key=value, got \"%s\"", keyval);
        return -1;
    }
    k->props = xrealloc(k->props, (k->nprops + 1) * 2 * sizeof *k->props);
    k->props[k->nprops * 2] = xstrndup(keyval, eq - keyval);
    k->props[k->nprops * 2 + 1] = xstrdup(eq + 1);
    k->nprops++;
    return 0;
}

const char *kconf_brokers(const kconf_t *k) { return k->brokers; }

int kconf_timeout_ms(const kconf_t *k) { return k->timeout_ms; }

/* librdkafka logs through stderr by default; keep its noise for real trouble,
 * and its debug lines, which it writes only when asked (-X debug=...). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    if (level <= 3 || level == 7)
        util_log("kafka %s: %s", fac, buf);
}

rd_kafka_conf_t *kafka_conf(const kconf_t *k, const char *const *defaults, char *errstr,
                            size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", k->brokers, errstr, errstr_size) ||
        rd_kafka_conf_set(conf, "log.connection.close", "false", errstr, errstr_size))
        goto fail;
    for (size_t i = 0; defaults && defaults[i]; i += 2)
        if (rd_kafka_conf_set(conf, defaults[i], defaults[i + 1], errstr, errstr_size) !=
            RD_KAFKA_CONF_OK)
            goto fail;
    for (size_t i = 0; i < k->nprops; i++)
        if (rd_kafka_conf_set(conf, k->props[2 * i], k->props[2 * i + 1], errstr, errstr_size) !=
            RD_KAFKA_CONF_OK)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* Whether the defaults or the -X properties set key. */
static bool has_prop(const kconf_t *k, const char *const *defaults, const char *key)
{
    for (size_t i = 0; defaults && defaults[i]; i += 2)
        if (!strcmp(defaults[i], key))
            return true;
    for (size_t i = 0; i < k->nprops; i++)
        if (!strcmp(k->props[2 * i], key))
            return true;
    return false;
}

rd_kafka_t *kafka_client(const kconf_t *k, rd_kafka_type_t type, const char *const *defaults,
                         void *opaque,
                         void (*dr_msg_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                         char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = kafka_conf(k, defaults, errstr, errstr_size);
    if (!conf)
        return NULL;
    /* Reading never creates a topic (librdkafka's consumer default, said
     * out loud; a caller's defaults or -X may still turn it on). */
    if (type == RD_KAFKA_CONSUMER && !has_prop(k, defaults, "allow.auto.create.topics") &&
        rd_kafka_conf_set(conf, "allow.auto.create.topics", "false", errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (opaque)
        rd_kafka_conf_set_opaque(conf, opaque);
    if (dr_msg_cb)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, errstr_size);
    if (!rk)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* One TCP connect to host:port, waiting up to wait_ms: 1 when it was refused
 * (every address the name resolves to refused it), 0 otherwise (it
 * connected, it is still pending, or the name does not resolve: librdkafka
 * will say what is wrong then). */
static int refused(const char *host, const char *port, int wait_ms)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) || !res)
        return 0;
    int all_refused = 1;
    for (struct addrinfo *ai = res; ai && all_refused; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM, 0);
        if (fd < 0) {
            all_refused = 0;
            break;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen), e = r < 0 ? errno : 0;
        if (r < 0 && e == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, wait_ms) == 1) {
                socklen_t len = sizeof e;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
            } else {
                e = 0; /* no answer yet: not a refusal */
            }
        }
        all_refused = e == ECONNREFUSED;
        close(fd);
    }
    freeaddrinfo(res);
    return all_refused;
}

/* 1 when every address of the bootstrap list ("host:port,host:port", an
 * optional "proto://" each) refuses connections. */
static int all_refuse(const char *brokers)
{
    char *list = xstrdup(brokers), *save = NULL;
    int n = 0, nrefused = 0;
    for (char *b = strtok_r(list, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
        while (*b == ' ')
            b++;
        char *scheme = strstr(b, "://");
        if (scheme)
            b = scheme + 3;
        char *colon = strrchr(b, ':');
        const char *port = colon ? colon + 1 : "9092";
        if (colon)
            *colon = '\0';
        if (*b == '[') { /* [v6]:port */
            b++;
            b[strcspn(b, "]")] = '\0';
        }
        n++;
        nrefused += refused(b, port, 200);
    }
    free(list);
    return n > 0 && nrefused == n;
}

int kconf_probe(const kconf_t *k, char *errstr, size_t errstr_size)
{
    /* A refused connection is a clear answer: fail once every address has kept
     * refusing for KCONF_REFUSED_MS (librdkafka would retry for the whole
     * timeout, logging each refusal). */
    int64_t start = util_mono_ms();
    while (all_refuse(k->brokers)) {
        int64_t waited = util_mono_ms() - start;
        if (waited >= KCONF_REFUSED_MS || waited >= k->timeout_ms) {
            snprintf(errstr, errstr_size,
                     "cannot reach a Kafka broker at %s: connection refused for %d s "
                     "(nothing listens there)",
                     k->brokers, (int)((waited + 500) / 1000));
            return -1;
        }
        util_sleep_ms(100);
    }
    rd_kafka_t *rk = kafka_client(k, RD_KAFKA_PRODUCER, NULL, NULL, NULL, errstr, errstr_size);
    if (!rk)
        return -1;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, k->timeout_ms);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    if (err) {
        snprintf(errstr, errstr_size, "cannot reach a Kafka broker at %s within %d s (%s)",
                 k->brokers, k->timeout_ms / 1000, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

rd_kafka_resp_err_t kafka_watermarks(rd_kafka_t *rk, const char *topic, int32_t partition,
                                     int64_t *lo, int64_t *hi, int timeout_ms)
{
    int64_t deadline = util_mono_ms() + timeout_ms;
    for (;;) {
        int left = (int)(deadline - util_mono_ms());
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, topic, partition, lo, hi, left > 100 ? left : 100);
        bool retriable = err == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                         err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                         err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                         err == RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE ||
                         err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (!err || !retriable || util_mono_ms() >= deadline)
            return err;
        util_sleep_ms(100);
    }
}

rd_kafka_resp_err_t kafka_produce_wait(rd_kafka_t *rk, rd_kafka_topic_t *rkt, int32_t partition,
                                       int msgflags, void *payload, size_t len, const void *key,
                                       size_t keylen, void *opaque, const _Atomic bool *cancel)
{
    while (rd_kafka_produce(rkt, partition, msgflags, payload, len, key, keylen, opaque) == -1) {
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return err;
        if (cancel && atomic_load_explicit(cancel, memory_order_relaxed))
            return RD_KAFKA_RESP_ERR__INTR;
        rd_kafka_poll(rk, 10); /* backpressure: deliveries make room */
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}
