/* txgen.h — the original's e-commerce transaction generator.
 *
 * The original's vocabularies: products laptop phone tablet camera headphones
 * book shirt shoes, categories electronics accessories books clothing,
 * payments credit_card debit_card paypal cash; amount 10.00–1000.00,
 * quantity 1–5, user_1..user_1000, city_1..city_50, local ISO timestamp.
 * Deterministic for a seed; one generator per thread. */
#ifndef STREAMLAB_TXGEN_H
#define STREAMLAB_TXGEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct txgen txgen_t;

#define TXGEN_MAX_RECORD 512
#define TXGEN_MAX_KEY 32

txgen_t *txgen_new(uint64_t seed);
void txgen_free(txgen_t *g);

/* Writes the next transaction as JSON into buf (TXGEN_MAX_RECORD bytes) and
 * its key, the user_id, into key (TXGEN_MAX_KEY); event_us is its timestamp
 * in wall-clock µs (evtime.h).  Returns the JSON's length. */
size_t txgen_next(txgen_t *g, int64_t event_us, char *buf, char *key, size_t *keylen);

/* Teaching and testing disorder (all 0 by default):
 *   out_of_order_ms  event times are jittered back by up to this much;
 *   late_fraction    this share is 35-65 s old, so that with the engine's
 *                    default 5 s bound and 30 s windows its window has fired;
 *   bad_fraction     this share is malformed (not JSON, truncated JSON, an amount
 *                    that is not a number, a missing field), for the dead-letter
 *                    topic: nothing the original could have processed either. */
void txgen_set_disorder(txgen_t *g, int64_t out_of_order_ms, double late_fraction,
                        double bad_fraction);

/* Card testing for the fraud_alerts demo (0 by default): this share of
 * calls begins an injected scenario for a user of its own (user_1001 and up,
 * never one of the 1000 regular users, so no other transaction of theirs
 * comes between), whose later records come out once their event time is
 * reached (the `event_us` a later call passes):
 *   half:    a pair, < 20.00 then > 800.00 1-5 s later (one alert each);
 *   quarter: a near miss, the large one 61 s later (past the 60 s bound);
 *   quarter: a near miss, another transaction in between (1 s, then 2 s).
 * The scenarios' records have no jitter and are never late or malformed. */
void txgen_set_fraud(txgen_t *g, double fraction);

/* A uniform random integer in [0, n) from the generator's stream. */
uint64_t txgen_rand(txgen_t *g, uint64_t n);

#endif
