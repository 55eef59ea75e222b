/* txproducer.c — see txproducer.h.  Pacing: the number of records due is
 * rate x elapsed since the last rate change; the loop sends what is due and
 * sleeps a millisecond otherwise, so the rate holds from 1/s to 100k/s. */
#include "producers/txproducer.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/kafka/kafka.h"
#include "engine/util.h"
#include "producers/txgen.h"

struct txprod {
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    txgen_t *gen;
    uint64_t count;
    _Atomic double rate;
    _Atomic double late_fraction; /* may change while running (the walkthrough) */
    _Atomic double fraud_fraction; /* the same */
    int64_t out_of_order_ms;
    double bad_fraction;
    _Atomic bool stop;
    _Atomic uint64_t sent, delivered, failed;
    char error[256];
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    txprod_t *p = opaque;
    if (m->err) {
        atomic_fetch_add(&p->failed, 1);
        if (!p->error[0])
            snprintf(p->error, sizeof p->error, "%s", rd_kafka_err2str(m->err));
    } else {
        atomic_fetch_add_explicit(&p->delivered, 1, memory_order_relaxed);
    }
}

txprod_t *txprod_new(const kconf_t *k, const char *topic, double rate, uint64_t count,
                     uint64_t seed, char *errstr, size_t errstr_size)
{
    static const char *const defaults[] = {
        "acks", "all", "enable.idempotence", "true", "linger.ms", "5",
        "batch.num.messages", "10000", "queue.buffering.max.messages", "1000000",
        "partitioner", "murmur2_random",
        /* lz4 batches: a transaction's JSON shrinks ~5x, so the embedded
         * broker's 5 MB a partition holds ~300k records instead of ~60k
         * (seconds of a fast producer before the engine's group has joined),
         * and a real broker moves and stores a fifth of the bytes.  Every
         * Kafka client reads them (kafka-python with its lz4 package);
         * -X compression.codec=none turns it off. */
        "compression.codec", "lz4", NULL};
    txprod_t *p = xcalloc(1, sizeof *p);
    p->rk = kafka_client(k, RD_KAFKA_PRODUCER, defaults, p, on_delivery, errstr, errstr_size);
    if (!p->rk) {
        free(p);
        return NULL;
    }
    p->rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    p->gen = txgen_new(seed ? seed : (uint64_t)util_mono_us());
    p->count = count;
    atomic_init(&p->rate, rate);
    return p;
}

void txprod_free(txprod_t *p)
{
    if (!p)
        return;
    rd_kafka_topic_destroy(p->rkt);
    rd_kafka_destroy(p->rk);
    txgen_free(p->gen);
    free(p);
}

void txprod_set_disorder(txprod_t *p, int64_t out_of_order_ms, double late_fraction,
                         double bad_fraction)
{
    txgen_set_disorder(p->gen, out_of_order_ms, late_fraction, bad_fraction);
    p->out_of_order_ms = out_of_order_ms;
    p->bad_fraction = bad_fraction;
    atomic_store(&p->late_fraction, late_fraction);
}

void txprod_set_late_fraction(txprod_t *p, double late_fraction)
{
    atomic_store(&p->late_fraction, late_fraction);
}

void txprod_set_fraud_fraction(txprod_t *p, double fraction)
{
    atomic_store(&p->fraud_fraction, fraction);
}

void txprod_stop(txprod_t *p) { atomic_store(&p->stop, true); }
void txprod_set_rate(txprod_t *p, double rate) { atomic_store(&p->rate, rate); }

void txprod_stats(const txprod_t *p, txprod_stats_t *out)
{
    out->sent = atomic_load(&p->sent);
    out->delivered = atomic_load(&p->delivered);
    out->failed = atomic_load(&p->failed);
}

int txprod_run(txprod_t *p, char *errstr, size_t errstr_size)
{
    char buf[TXGEN_MAX_RECORD], key[TXGEN_MAX_KEY];
    double rate = atomic_load(&p->rate);
    int64_t epoch_us = util_mono_us();
    uint64_t sent_at_epoch = 0;
    double late = atomic_load(&p->late_fraction), fraud = 0;
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        uint64_t sent = atomic_load_explicit(&p->sent, memory_order_relaxed);
        if (p->count && sent >= p->count)
            break;
        double r = atomic_load_explicit(&p->rate, memory_order_relaxed);
        if (r != rate) { /* re-anchor pacing on a rate change */
            rate = r;
            epoch_us = util_mono_us();
            sent_at_epoch = sent;
        }
        double lf = atomic_load_explicit(&p->late_fraction, memory_order_relaxed);
        if (lf != late) { /* the generator belongs to this thread: apply it here */
            late = lf;
            txgen_set_disorder(p->gen, p->out_of_order_ms, late, p->bad_fraction);
        }
        double ff = atomic_load_explicit(&p->fraud_fraction, memory_order_relaxed);
        if (ff != fraud)
            txgen_set_fraud(p->gen, fraud = ff);
        if (rate > 0) {
            double due = (util_mono_us() - epoch_us) * rate / 1e6;
            if ((double)(sent - sent_at_epoch) >= due + 1) {
                rd_kafka_poll(p->rk, 1);
                continue;
            }
        }
        size_t keylen, len = txgen_next(p->gen, evtime_now_us(), buf, key, &keylen);
        rd_kafka_resp_err_t err = kafka_produce_wait(p->rk, p->rkt, RD_KAFKA_PARTITION_UA,
                                                     RD_KAFKA_MSG_F_COPY, buf, len, key, keylen,
                                                     NULL, &p->stop);
        if (err == RD_KAFKA_RESP_ERR__INTR)
            break;
        if (err) {
            snprintf(errstr, errstr_size, "producing: %s", rd_kafka_err2str(err));
            rd_kafka_flush(p->rk, 30000);
            return -1;
        }
        atomic_store_explicit(&p->sent, sent + 1, memory_order_relaxed);
        if ((sent & 1023) == 0)
            rd_kafka_poll(p->rk, 0);
    }
    rd_kafka_flush(p->rk, 30000);
    uint64_t outstanding = (uint64_t)rd_kafka_outq_len(p->rk);
    if (outstanding) {
        snprintf(errstr, errstr_size, "%llu records still undelivered after 30 s",
                 (unsigned long long)outstanding);
        return -1;
    }
    if (atomic_load(&p->failed)) {
        snprintf(errstr, errstr_size, "%llu deliveries failed: %s",
                 (unsigned long long)atomic_load(&p->failed), p->error);
        return -1;
    }
    return 0;
}
