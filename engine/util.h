/* util.h — small helpers every module uses: checked allocation, clocks, strings.
 *
 * Allocation failure is not recoverable here: xmalloc and friends call the
 * fatal hook (the console sets one that restores the terminal) and abort.
 * Thread-safe; no state besides the hook, which is set once at start-up. */
#ifndef STREAMLAB_UTIL_H
#define STREAMLAB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called before abort() on a fatal error (e.g. out of memory); may be NULL. */
void util_set_fatal_hook(void (*hook)(void));
/* Prints "streamlab: <msg>" to stderr, runs the fatal hook and aborts. */
_Noreturn void util_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Diagnostics from background threads ("streamlab: <msg>" on stderr).  The
 * console owns the terminal, so it calls util_log_keep(): from then on
 * messages are kept instead and util_last_log() copies the newest (and with
 * STREAMLAB_LOG=FILE in the environment each is appended to FILE).  Thread-safe. */
void util_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void util_log_keep(void);
void util_last_log(char *buf, size_t size);

/* For a thread the program starts: blocks every signal but the crash signals
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), so that SIGINT, SIGTERM and
 * SIGWINCH go to the main thread, and a crash still reaches the console's
 * handler, which gives the terminal back before the report. */
void util_block_signals(void);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* The length (1-4) of the valid UTF-8 character at s (len bytes available),
 * or 0 when s starts with a byte that is not one: a stray continuation byte,
 * a truncated sequence, an overlong form, a surrogate, beyond U+10FFFF, or
 * NUL.  What Jansson accepts in a string, so a name cleaned with it can go
 * into JSON. */
size_t util_utf8_char(const char *s, size_t len);

/* Python's len() and len(split()) of a text fed in pieces: code points, and
 * runs of non-whitespace (str.isspace(): ASCII blanks, U+001C-U+001F, U+0085,
 * U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
 * Feed valid UTF-8 cut at character boundaries; zero the struct to start. */
typedef struct util_textcount {
    int64_t chars, words;
    bool in_word;
} util_textcount_t;
void util_textcount_feed(util_textcount_t *t, const char *s, size_t len);

/* Milliseconds on the monotonic clock (for durations and rates). */
int64_t util_mono_ms(void);
/* Microseconds on the monotonic clock. */
int64_t util_mono_us(void);
/* Milliseconds since the epoch on the wall clock. */
int64_t util_wall_ms(void);
/* Sleeps for ms milliseconds (returns early on a signal). */
void util_sleep_ms(int64_t ms);

/* Parses a non-negative decimal number (integer or fraction) filling *out;
 * returns 0, or -1 when s is not entirely such a number. */
int util_parse_double(const char *s, double *out);
/* Parses a non-negative integer that fits in int64; 0 or -1. */
int util_parse_i64(const char *s, int64_t *out);
/* Splits "host:port" checking the port; fills host (NUL-terminated) and port. 0 or -1. */
int util_split_hostport(const char *s, char *host, size_t hostsize, int *port);

#endif
