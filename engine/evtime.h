/* evtime.h — event time: ISO-8601 timestamps as the seed writes them.
 *
 * The seed writes local wall-clock time without a zone
 * ("2024-01-15T10:30:00.123456", fraction optional).  streamlab keeps event
 * time as "wall-clock milliseconds": the local date and time read as if they
 * were UTC.  That keeps window boundaries on round local times and makes
 * output timestamps read exactly like input ones.  A timestamp with a zone
 * (trailing Z or ±hh:mm) is converted to local wall-clock time first.
 * Pure functions, thread-safe. */
#ifndef STREAMLAB_EVTIME_H
#define STREAMLAB_EVTIME_H

#include <stddef.h>
#include <stdint.h>

/* Parses s (len bytes) into wall-clock ms; returns 0, or -1 if it is not a
 * valid timestamp (bad field, out-of-range date, trailing garbage). */
int evtime_parse(const char *s, size_t len, int64_t *ms);

/* Writes ms as "YYYY-MM-DDTHH:MM:SS.ffffff" (26 chars + NUL) into buf, which
 * must hold at least EVTIME_BUFSIZE bytes; returns buf. */
#define EVTIME_BUFSIZE 48
char *evtime_format(int64_t ms, char *buf);
/* Same with microsecond precision. */
char *evtime_format_us(int64_t us, char *buf);

/* Replaces "now" for the calling thread (a replay's clock is its input's
 * event time, so that its output is the same on every run); pass
 * EVTIME_REAL_CLOCK to go back to the real clock. */
#define EVTIME_REAL_CLOCK INT64_MIN
void evtime_set_thread_clock_us(int64_t us);

/* The current local wall-clock time, in ms and in µs. */
int64_t evtime_now_ms(void);
int64_t evtime_now_us(void);

#endif
