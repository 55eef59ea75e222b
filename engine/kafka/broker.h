/* broker.h — the embedded Kafka-protocol broker (librdkafka's mock cluster).
 *
 * The mock cluster listens on ephemeral loopback ports only, so a small TCP
 * relay listens on the address the user asked for (default 127.0.0.1:9092)
 * and forwards each connection to the first mock broker; metadata then sends
 * clients to the real ports.  The mock runs its own threads; the relay runs
 * one thread per accepted connection plus an accept thread.  All seed topics
 * are created at start with the given partition count. */
#ifndef STREAMLAB_BROKER_H
#define STREAMLAB_BROKER_H

#include <stddef.h>

typedef struct broker broker_t;

#define BROKER_DEFAULT_LISTEN "127.0.0.1:9092"

/* Starts nbrokers mock brokers and the relay on listen ("HOST:PORT", port 0
 * picks a free one).  Returns NULL with errstr filled (e.g. port in use). */
broker_t *broker_start(const char *listen, int nbrokers, int partitions, char *errstr,
                       size_t errstr_size);

/* Creates topic with partitions (replication 1) — the embedded broker has no
 * CreateTopics request.  0, or -1 with errstr. */
int broker_create_topic(broker_t *b, const char *topic, int partitions, char *errstr,
                        size_t errstr_size);

/* "HOST:PORT" that clients bootstrap from (the relay; the real port when 0 was asked). */
const char *broker_address(const broker_t *b);

/* Fault injection through librdkafka's mock API, one command a call:
 *   down [ID] / up [ID]       a broker (default: every broker) stops answering
 *                             (its connections are closed) / comes back
 *   rtt MS [ID]               adds MS of latency to every response
 *   error API CODE [COUNT]    the next COUNT (1) requests of Kafka API key API
 *                             (0 Produce, 1 Fetch, ...) fail with error CODE
 * Returns 0 with a line for a person in reply, or -1 with the reason. */
int broker_fault(broker_t *b, const char *command, char *reply, size_t reply_size);

/* Stops the relay and destroys the cluster; its data is gone.  NULL is fine. */
void broker_stop(broker_t *b);

#endif
