/* filesaver.h — rebuilds uploaded files from their records (whole or chunked)
 * into a directory, as the original's consumer saved uploads to disk.
 *
 * Each upload is written to a hidden temporary file in DIR while its chunks
 * arrive in order (memory stays at one chunk), its MD5 is computed on the
 * way, and only a complete file whose size and MD5 match the record is
 * renamed to its name; anything else is deleted, so no partial file is ever
 * left behind.  Names are cleaned to their last path component ("../x" and
 * "/etc/x" become "x"), and the file is created relative to DIR's descriptor:
 * nothing is written outside DIR.  One thread uses a filesaver. */
#ifndef STREAMLAB_FILESAVER_H
#define STREAMLAB_FILESAVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct filesaver filesaver_t;

typedef enum {
    FILESAVER_PENDING,    /* a chunk was taken; the file is not complete yet */
    FILESAVER_SAVED,      /* the file is complete and saved */
    FILESAVER_CORRUPT,    /* complete but size or MD5 wrong: deleted */
    FILESAVER_INCOMPLETE, /* chunks missing: deleted */
    FILESAVER_INVALID,    /* not an upload record */
} filesaver_event_t;

/* dir must exist and be writable.  NULL with errstr filled. */
filesaver_t *filesaver_new(const char *dir, char *errstr, size_t errstr_size);
/* Deletes the temporary files of unfinished uploads (see filesaver_finish). */
void filesaver_free(filesaver_t *s);

/* Takes one record's value.  Returns what happened; msg gets a line for the
 * user for every event but PENDING ("saved DIR/x.png (…)", "corrupt: …"). */
filesaver_event_t filesaver_add(filesaver_t *s, const char *value, size_t len, char *msg,
                                size_t msgsize);
/* Ends every unfinished upload as INCOMPLETE (temporary file deleted);
 * calls report for each with a line for the user.  Returns how many. */
int filesaver_finish(filesaver_t *s, void (*report)(void *opaque, const char *msg), void *opaque);

#endif
