/* topics.h — the topics streamlab reads and writes, and making sure they exist.
 *
 * The seed list is the original project's topics plus streamlab's own
 * (late data, windows, dead letters).  On a real cluster missing topics are
 * made with the Admin API; the embedded broker makes them itself at start. */
#ifndef STREAMLAB_TOPICS_H
#define STREAMLAB_TOPICS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"

#define TOPICS_DEFAULT_PARTITIONS 3

/* Every topic of the wire-format table, NULL-terminated. */
extern const char *const topics_seed[];

/* Makes the seed topics that are missing, with `partitions` partitions and
 * replication 1.  An existing topic with another partition count is used as
 * it is, with a warning on stderr.  A cluster without CreateTopics falls back
 * to auto-creation with a warning.  Returns 0, or -1 with errstr filled. */
int topics_ensure(const kconf_t *k, int partitions, char *errstr, size_t errstr_size);



/* Sum over topic's partitions of (end offset - log start offset): the records
 * a new consumer group would read.  0, or -1 with errstr. */
int topics_record_count(const kconf_t *k, const char *topic, int64_t *count, char *errstr,
                        size_t errstr_size);
#endif
