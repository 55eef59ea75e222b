/* views.h — what the console shows of the transaction pipeline: the live
 * feed, per-user totals, and category windows (open and fired).
 *
 * The pipeline's view sinks write here on the job's worker threads; the TUI thread
 * copies a snapshot out ~10 times a second.  Both sides hold the mutex only
 * for a copy of a few kilobytes, never across I/O. */
#ifndef STREAMLAB_VIEWS_H
#define STREAMLAB_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

#define VIEW_FEED 200     /* transactions kept for the feed */
#define VIEW_TOP_USERS 64 /* users kept in a snapshot, best first */
#define VIEW_CATEGORIES 8

typedef struct view_tx {
    int64_t event_ms; /* wall-clock ms (evtime.h) */
    char id[40], user[24], product[24], category[24];
    int64_t amount_cents;
    int32_t partition;
    bool passed, high;
    uint64_t seq; /* increases by one per record seen */
} view_tx_t;

typedef struct view_user {
    char user[24];
    int64_t total_cents;
    int64_t count;
    uint64_t last_seq; /* for "most recent" ordering */
} view_user_t;

typedef struct view_window {
    char category[24];
    int64_t start_ms, end_ms;
    int64_t total_cents, count;
} view_window_t;

#define VIEW_ALERTS 16 /* fraud alerts kept, newest first */

typedef struct view_alert {
    char user[24], first_id[40], second_id[40];
    int64_t first_cents, second_cents;
    int64_t first_ms, second_ms; /* event times (the two transactions' timestamps) */
    uint64_t seq;                /* the alert's number, from 1 */
} view_alert_t;

enum view_sort { VIEW_SORT_TOTAL, VIEW_SORT_COUNT, VIEW_SORT_RECENT, VIEW_SORT_N };

typedef struct view_snapshot {
    view_tx_t feed[VIEW_FEED]; /* newest first */
    int nfeed;
    uint64_t seen, passed, high; /* records counted by the view */
    view_user_t users[VIEW_TOP_USERS];
    int nusers, users_total; /* shown, and how many users exist */
    view_window_t open[VIEW_CATEGORIES], fired[VIEW_CATEGORIES];
    int nopen, nfired; /* fired: the newest fired window of each category */
    uint64_t windows_fired;
    view_alert_t alerts[VIEW_ALERTS]; /* newest first */
    int nalerts;
    uint64_t alerts_total;
} view_snapshot_t;

typedef struct txn_view txn_view_t;

txn_view_t *view_new(int64_t window_ms);
void view_free(txn_view_t *v);

/* Engine thread: one call per parsed transaction, per processed one, per
 * fired window (see pipelines/transactions.c). */
void view_on_input(txn_view_t *v, const view_tx_t *tx);
void view_on_user(txn_view_t *v, const char *user, int64_t total_cents, int64_t count);
void view_on_window_input(txn_view_t *v, const char *category, int64_t event_ms, int64_t cents);
void view_on_window_fired(txn_view_t *v, const view_window_t *w);
void view_on_alert(txn_view_t *v, const view_alert_t *a);

/* TUI thread: fills out (users sorted by sort). */
void view_snapshot(txn_view_t *v, enum view_sort sort, view_snapshot_t *out);

#endif
