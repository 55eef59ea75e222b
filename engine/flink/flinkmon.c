/* flinkmon.c — see flinkmon.h.  One thread, one flinkrest client; each poll fills a
 * private flink_jobs_t without the lock and then copies it into the published snapshot
 * under the mutex, so the TUI's copy never waits for the network. */
#include "engine/flink/flinkmon.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/util.h"

struct flinkmon {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake; /* signalled by flinkmon_free so the sleep ends at once */
    atomic_bool stop;
    int interval_ms;
    flinkrest_t *fr;
    flinkmon_snap_t snap; /* guarded by mu */
    flink_jobs_t work;    /* the poller's own buffer */
};

static void *run(void *arg)
{
    flinkmon_t *m = arg;
    util_block_signals(); /* signals belong to the main thread, but for crashes */
    while (!atomic_load(&m->stop)) {
        char err[512];
        int rc = flinkrest_jobs(m->fr, &m->work, err, sizeof err);
        pthread_mutex_lock(&m->mu);
        m->snap.polled = true;
        m->snap.polls++;
        if (rc == 0) {
            m->snap.reachable = true;
            m->snap.error[0] = '\0';
            m->snap.last_ok_ms = util_mono_ms();
            m->snap.jobs = m->work;
        } else {
            /* An HTTP error from Flink is an answer, but not a usable one: show it. */
            m->snap.reachable = false;
            m->snap.failures++;
            snprintf(m->snap.error, sizeof m->snap.error, "%s", err);
        }
        /* Sleep the interval, or less when flinkmon_free wakes us. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += m->interval_ms / 1000;
        until.tv_nsec += (long)(m->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!atomic_load(&m->stop) &&
               pthread_cond_timedwait(&m->wake, &m->mu, &until) == 0) {
        }
        pthread_mutex_unlock(&m->mu);
    }
    return NULL;
}

flinkmon_t *flinkmon_new(const char *url, int interval_ms, long timeout_ms)
{
    flinkmon_t *m = xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->wake, NULL);
    m->interval_ms = interval_ms < 200 ? 200 : interval_ms;
    m->fr = flinkrest_new(url, timeout_ms);
    snprintf(m->snap.url, sizeof m->snap.url, "%s", url);
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        flinkrest_free(m->fr);
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    return m;
}

void flinkmon_free(flinkmon_t *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->stop, true);
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    flinkrest_free(m->fr);
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void flinkmon_snapshot(flinkmon_t *m, flinkmon_snap_t *out)
{
    pthread_mutex_lock(&m->mu);
    *out = m->snap;
    pthread_mutex_unlock(&m->mu);
}
