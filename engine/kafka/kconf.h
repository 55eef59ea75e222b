/* kconf.h — how to reach a Kafka cluster: bootstrap servers, librdkafka
 * properties given with -X, and the time allowed to reach it.
 *
 * Built once by the front door from the command line, then read (never
 * changed) by the threads that make Kafka clients.  No librdkafka types here:
 * the TUI may include this header; only engine/ and producers/ make clients. */
#ifndef STREAMLAB_KCONF_H
#define STREAMLAB_KCONF_H

#include <stddef.h>

typedef struct kconf kconf_t;

/* A new configuration for brokers (copied); timeout_ms bounds the first
 * contact with the cluster. */
kconf_t *kconf_new(const char *brokers, int timeout_ms);
void kconf_free(kconf_t *k);

/* Adds a "key=value" librdkafka property (copied).  Returns 0, or -1 with a
 * message in errstr when it has no '='. */
int kconf_add(kconf_t *k, const char *keyval, char *errstr, size_t errstr_size);

const char *kconf_brokers(const kconf_t *k);
int kconf_timeout_ms(const kconf_t *k);

/* Checks that the cluster answers a metadata request within the timeout.
 * When every bootstrap address keeps refusing connections for
 * KCONF_REFUSED_MS (nothing listens there) it fails then, without waiting
 * for the timeout and without librdkafka's log lines; a broker that
 * accepts but does not answer is still given the whole timeout.
 * Returns 0, or -1 with a readable reason in errstr. */
/* How long a bootstrap address may refuse before kconf_probe gives up: a
 * broker still starting gets that long to open its port. */
#define KCONF_REFUSED_MS 2000
int kconf_probe(const kconf_t *k, char *errstr, size_t errstr_size);

#endif
