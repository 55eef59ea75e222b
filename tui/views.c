/* views.c — see views.h. */
#include "tui/views.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/util.h"

#define MAX_USERS 4096

struct txn_view {
    pthread_mutex_t lock;
    int64_t window_ms;
    view_tx_t feed[VIEW_FEED]; /* ring */
    int head, nfeed;
    uint64_t seen, passed, high, fired_count;
    view_user_t *users; /* unsorted */
    json_t *index;      /* user name -> position in users (Jansson's hash table) */
    int nusers;
    view_window_t open[VIEW_CATEGORIES], fired[VIEW_CATEGORIES];
    int nopen, nfired;
    view_alert_t alerts[VIEW_ALERTS]; /* ring */
    int ahead, nalerts;
    uint64_t alerts_total;
};

txn_view_t *view_new(int64_t window_ms)
{
    txn_view_t *v = xcalloc(1, sizeof *v);
    pthread_mutex_init(&v->lock, NULL);
    v->window_ms = window_ms;
    v->users = xcalloc(MAX_USERS, sizeof *v->users);
    v->index = json_object();
    return v;
}

void view_free(txn_view_t *v)
{
    if (!v)
        return;
    pthread_mutex_destroy(&v->lock);
    json_decref(v->index);
    free(v->users);
    free(v);
}

void view_on_input(txn_view_t *v, const view_tx_t *tx)
{
    pthread_mutex_lock(&v->lock);
    v->head = (v->head + 1) % VIEW_FEED;
    v->feed[v->head] = *tx;
    v->feed[v->head].seq = ++v->seen;
    if (v->nfeed < VIEW_FEED)
        v->nfeed++;
    v->passed += tx->passed;
    v->high += tx->high;
    pthread_mutex_unlock(&v->lock);
}

void view_on_user(txn_view_t *v, const char *user, int64_t total_cents, int64_t count)
{
    pthread_mutex_lock(&v->lock);
    json_t *at = json_object_get(v->index, user);
    int i = at ? (int)json_integer_value(at) : v->nusers;
    if (!at && v->nusers < MAX_USERS) {
        snprintf(v->users[i].user, sizeof v->users[i].user, "%s", user);
        json_object_set_new(v->index, user, json_integer(i));
        v->nusers++;
    }
    if (i < v->nusers) {
        v->users[i].total_cents = total_cents;
        v->users[i].count = count;
        v->users[i].last_seq = v->seen;
    }
    pthread_mutex_unlock(&v->lock);
}

static int find_window(view_window_t *ws, int n, const char *category)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(ws[i].category, category))
            return i;
    return -1;
}

void view_on_window_input(txn_view_t *v, const char *category, int64_t event_ms, int64_t cents)
{
    int64_t start = event_ms / v->window_ms * v->window_ms;
    pthread_mutex_lock(&v->lock);
    int i = find_window(v->open, v->nopen, category);
    if (i < 0 && v->nopen < VIEW_CATEGORIES) {
        i = v->nopen++;
        v->open[i] = (view_window_t){.start_ms = start, .end_ms = start + v->window_ms};
        snprintf(v->open[i].category, sizeof v->open[i].category, "%s", category);
    }
    if (i >= 0) {
        if (start > v->open[i].start_ms) { /* the newest open window is the one shown */
            v->open[i].start_ms = start;
            v->open[i].end_ms = start + v->window_ms;
            v->open[i].total_cents = v->open[i].count = 0;
        }
        if (start == v->open[i].start_ms) {
            v->open[i].total_cents += cents;
            v->open[i].count++;
        }
    }
    pthread_mutex_unlock(&v->lock);
}

void view_on_window_fired(txn_view_t *v, const view_window_t *w)
{
    pthread_mutex_lock(&v->lock);
    v->fired_count++;
    int i = find_window(v->fired, v->nfired, w->category);
    if (i < 0 && v->nfired < VIEW_CATEGORIES)
        i = v->nfired++;
    if (i >= 0 && (v->fired[i].end_ms <= w->end_ms))
        v->fired[i] = *w;
    /* A fired window is no longer open. */
    int o = find_window(v->open, v->nopen, w->category);
    if (o >= 0 && v->open[o].start_ms == w->start_ms)
        v->open[o] = v->open[--v->nopen];
    pthread_mutex_unlock(&v->lock);
}

void view_on_alert(txn_view_t *v, const view_alert_t *a)
{
    pthread_mutex_lock(&v->lock);
    v->ahead = (v->ahead + 1) % VIEW_ALERTS;
    v->alerts[v->ahead] = *a;
    v->alerts[v->ahead].seq = ++v->alerts_total;
    if (v->nalerts < VIEW_ALERTS)
        v->nalerts++;
    pthread_mutex_unlock(&v->lock);
}

static int cmp_users(const void *a, const void *b, void *arg)
{
    const view_user_t *x = a, *y = b;
    enum view_sort sort_key = *(const enum view_sort *)arg;
    int64_t d = sort_key == VIEW_SORT_TOTAL   ? y->total_cents - x->total_cents
                : sort_key == VIEW_SORT_COUNT ? y->count - x->count
                                              : (int64_t)(y->last_seq - x->last_seq);
    if (!d)
        d = y->total_cents - x->total_cents;
    return d > 0 ? 1 : d < 0 ? -1 : strcmp(x->user, y->user);
}

static int cmp_windows(const void *a, const void *b)
{
    return strcmp(((const view_window_t *)a)->category, ((const view_window_t *)b)->category);
}

void view_snapshot(txn_view_t *v, enum view_sort sort, view_snapshot_t *out)
{
    static view_user_t scratch[MAX_USERS]; /* TUI thread only */
    pthread_mutex_lock(&v->lock);
    out->nfeed = v->nfeed;
    for (int i = 0; i < v->nfeed; i++)
        out->feed[i] = v->feed[(v->head - i + VIEW_FEED) % VIEW_FEED];
    out->seen = v->seen;
    out->passed = v->passed;
    out->high = v->high;
    out->windows_fired = v->fired_count;
    int nusers = v->nusers;
    memcpy(scratch, v->users, nusers * sizeof *scratch);
    memcpy(out->open, v->open, sizeof out->open);
    memcpy(out->fired, v->fired, sizeof out->fired);
    out->nopen = v->nopen;
    out->nfired = v->nfired;
    out->nalerts = v->nalerts;
    for (int i = 0; i < v->nalerts; i++)
        out->alerts[i] = v->alerts[(v->ahead - i + VIEW_ALERTS) % VIEW_ALERTS];
    out->alerts_total = v->alerts_total;
    pthread_mutex_unlock(&v->lock);

    qsort_r(scratch, nusers, sizeof *scratch, cmp_users, &sort);
    out->users_total = nusers;
    out->nusers = nusers < VIEW_TOP_USERS ? nusers : VIEW_TOP_USERS;
    memcpy(out->users, scratch, out->nusers * sizeof *scratch);
    qsort(out->open, out->nopen, sizeof *out->open, cmp_windows);
    qsort(out->fired, out->nfired, sizeof *out->fired, cmp_windows);
}
