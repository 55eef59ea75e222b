/* txproducer.h — sends generated transactions to the `transactions` topic.
 *
 * An idempotent producer with acks=all, keyed by user_id (murmur2, as the
 * Java and Python clients), paced to a rate that may change while it runs.
 * txprod_run() blocks its thread, which owns the Kafka handle; txprod_stop()
 * and txprod_set_rate() and the counters are safe from any thread. */
#ifndef STREAMLAB_TXPRODUCER_H
#define STREAMLAB_TXPRODUCER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"

typedef struct txprod txprod_t;

typedef struct txprod_stats {
    uint64_t sent;      /* handed to the client */
    uint64_t delivered; /* acknowledged by the broker */
    uint64_t failed;    /* delivery failed */
} txprod_stats_t;

/* rate: records per second (0 = as fast as possible); count: stop after
 * this many (0 = until stopped); seed for the generator (0 = from the clock). */
txprod_t *txprod_new(const kconf_t *k, const char *topic, double rate, uint64_t count,
                     uint64_t seed, char *errstr, size_t errstr_size);
void txprod_free(txprod_t *p);
/* See txgen_set_disorder; call before txprod_run. */
void txprod_set_disorder(txprod_t *p, int64_t out_of_order_ms, double late_fraction,
                         double bad_fraction);

/* Produces until count is reached or txprod_stop(), then waits up to 30 s for
 * every delivery report.  0 when every record was delivered, else -1 with errstr. */
/* Changes the share of late records (see txgen_set_disorder) while running;
 * any thread. */
void txprod_set_late_fraction(txprod_t *p, double late_fraction);
/* The share of calls that inject a card-testing scenario (txgen_set_fraud);
 * any thread, before or while running. */
void txprod_set_fraud_fraction(txprod_t *p, double fraction);

int txprod_run(txprod_t *p, char *errstr, size_t errstr_size);
void txprod_stop(txprod_t *p);
void txprod_set_rate(txprod_t *p, double rate);
void txprod_stats(const txprod_t *p, txprod_stats_t *out);

#endif
