/* admin.h — looking at a cluster: topics with their partitions and offsets,
 * topic configs, creating topics, consumer groups and their lag.
 *
 * Results are JSON values (new references, the caller owns them) so that the
 * commands can print them as text or as --json, and the console can draw them.
 * Each call makes its own short-lived client; call from any thread but the TUI's. */
#ifndef STREAMLAB_ADMIN_H
#define STREAMLAB_ADMIN_H

#include <jansson.h>
#include <stddef.h>

#include "engine/kafka/kconf.h"

/* [{"topic":T,"partitions":[{"partition":P,"leader":L,"log_start":A,"end":B},...]},...]
 * sorted by name; internal topics (names starting with "__") are left out.
 * only: one topic name, or NULL for all.  NULL with errstr on failure. */
json_t *admin_topics(const kconf_t *k, const char *only, char *errstr, size_t errstr_size);

/* ["topic",...]: the names of the cluster's topics, sorted, from one metadata
 * request for all topics (creates none); internal topics ("__...") left out.
 * NULL with errstr on failure. */
json_t *admin_topic_names(const kconf_t *k, char *errstr, size_t errstr_size);
/* {"name":value,...} of a topic's configs (DescribeConfigs).  NULL with errstr;
 * on a cluster without DescribeConfigs (the embedded broker) errstr says so. */
json_t *admin_topic_configs(const kconf_t *k, const char *topic, char *errstr, size_t errstr_size);

/* CreateTopics with replication 1.  0, or -1 with errstr (the embedded broker
 * has no CreateTopics: errstr says to use `streamlab broker --topic`). */
int admin_create_topic(const kconf_t *k, const char *topic, int partitions, char *errstr,
                       size_t errstr_size);

/* ["group",...] from ListGroups.  NULL with errstr (the embedded broker has no
 * ListGroups: errstr says so). */
json_t *admin_groups(const kconf_t *k, char *errstr, size_t errstr_size);

/* A group's committed offsets and lag, from OffsetFetch (works on every broker):
 * {"group":G,"state":S or null,"members":N or null,
 *  "partitions":[{"topic":T,"partition":P,"committed":C,"end":E,"lag":E-C},...],"lag":total}
 * Partitions with a committed offset are listed, and every partition of
 * `reads` (NULL-terminated, may be NULL: the topics the group reads): one
 * with no commit yet has "committed":null and lags by everything from its
 * log start to its end (a new group reads from the earliest record). */
json_t *admin_group_lag(const kconf_t *k, const char *group, const char *const *reads,
                        char *errstr, size_t errstr_size);

#endif
