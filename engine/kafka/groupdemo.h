/* groupdemo.h — a consumer group the console can grow one member at a time,
 * to show Kafka splitting a topic's partitions between the members of a group
 * (the walkthrough's consumer-group step).
 *
 * Each member is a thread with its own librdkafka consumer subscribed to one
 * topic in one group, reading from the end (latest) and counting what it
 * reads.  After every poll it publishes its current assignment.  The calls
 * below never wait on Kafka: groupdemo_add starts a thread, groupdemo_snapshot
 * copies under a short mutex; only groupdemo_free waits (members leave the
 * group). */
#ifndef STREAMLAB_GROUPDEMO_H
#define STREAMLAB_GROUPDEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"

#define GROUPDEMO_MAX_MEMBERS 4
#define GROUPDEMO_MAX_PARTS 32

typedef struct groupdemo groupdemo_t;

typedef struct groupdemo_member {
    int32_t parts[GROUPDEMO_MAX_PARTS]; /* assigned partitions, ascending */
    int64_t lag[GROUPDEMO_MAX_PARTS];   /* per assigned partition: end - position, -1 unknown */
    int nparts;
    uint64_t consumed;
    bool joined; /* has had an assignment at least once */
} groupdemo_member_t;

typedef struct groupdemo_snap {
    char group[96], topic[96];
    int nmembers;
    groupdemo_member_t m[GROUPDEMO_MAX_MEMBERS];
    char error[256]; /* the newest client error, or empty */
} groupdemo_snap_t;

/* k is borrowed and must outlive the demo.  No member runs yet. */
groupdemo_t *groupdemo_new(const kconf_t *k, const char *group, const char *topic);
/* Leaves the group (each member closes its consumer) and frees everything. */
void groupdemo_free(groupdemo_t *g);
/* Starts one more member; returns the number of members, or -1 when
 * GROUPDEMO_MAX_MEMBERS already run. */
int groupdemo_add(groupdemo_t *g);
int groupdemo_members(const groupdemo_t *g);
void groupdemo_snapshot(groupdemo_t *g, groupdemo_snap_t *out);

/* True when at least two members hold partitions, no partition is held twice
 * and together they hold total partitions (pure; for the walkthrough). */
bool groupdemo_split(const groupdemo_snap_t *s, int total);

#endif
