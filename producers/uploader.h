/* uploader.h — sends files to uploaded_documents / uploaded_videos /
 * uploaded_images in the original's record format, keyed by filename.
 *
 * A file up to UPLOAD_CHUNK_BYTES travels as one record exactly as the
 * original's web page sent it: file_id, filename, file_type, file_size,
 * file_hash (MD5 hex of the whole file), upload_timestamp, file_content
 * (base64), metadata{...} (plus metadata.sha256).  A larger file travels as
 * chunk records carrying every one of those fields but file_content, plus
 * chunk_index, chunk_count and chunk_content (the chunk's bytes, base64):
 * file_size and file_hash describe the whole file.  No file_content, so that a
 * client of the original (which reads file_content) never saves a chunk as
 * the file.  The chunk size is a multiple of 3, so the chunks' base64 strings
 * concatenate to the base64 of the whole file.  All chunks share the key, so
 * they stay in order on one partition.
 *
 * Pacing: the embedded broker keeps only the newest ~5 MB of a partition, so
 * a big file must not run more than a window (default 3 MB) ahead of the
 * consumer groups that read it.  The uploader watches those groups' committed
 * offsets (default: the engine's group, streamlab-engine) and waits; if they
 * stop moving for pace_timeout_ms it fails with a message.  Whatever the
 * pacing, a chunk that the broker dropped before every paced group read it
 * (log start offset beyond it) fails the upload: never a partial success.
 *
 * Threading: an uploader belongs to one thread at a time (it owns a producer
 * and the pacing consumers).  uploader_cancel() may be called from any thread. */
#ifndef STREAMLAB_UPLOADER_H
#define STREAMLAB_UPLOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/kafka/kconf.h"
#include "producers/filemeta.h"

#define UPLOAD_CHUNK_BYTES 715776 /* 699 KiB: 3 divides it; base64 ~932 KiB */
#define UPLOAD_MAX_PACE_GROUPS 8

typedef struct uploader uploader_t;

typedef struct upload_opts {
    const char *pace_groups[UPLOAD_MAX_PACE_GROUPS]; /* borrowed; none: no pacing */
    size_t npace;
    int64_t window_bytes;    /* unread bytes allowed ahead of the slowest group (3 MB) */
    int64_t pace_timeout_ms; /* fail when the groups read nothing for this long (60 s) */
    int64_t max_bytes;       /* refuse larger files (0: no limit) */
    size_t chunk_bytes;      /* UPLOAD_CHUNK_BYTES; tests may lower it (a multiple of 3) */
    const char *topic;       /* borrowed; every file goes here (NULL: its type's topic);
                              * up to 95 characters */
} upload_opts_t;

/* Defaults: pace on "streamlab-engine", 3 MB window, 60 s, no size limit. */
void upload_opts_init(upload_opts_t *o);

typedef struct upload_result {
    char file_id[64];
    char filename[256];
    char topic[96];
    const char *file_type; /* static string */
    int32_t partition;
    int64_t first_offset, last_offset; /* equal for a one-record upload */
    int64_t chunks;
    int64_t size;
    char md5[33], sha256[65];
    char upload_timestamp[48]; /* as in the records (EVTIME_BUFSIZE) */
} upload_result_t;

/* Progress: bytes of the file delivered so far out of total.  Called on the
 * uploading thread. */
typedef void (*upload_progress_fn)(void *opaque, int64_t done, int64_t total);

/* kconf and opts (and the group names) are borrowed and must outlive it.
 * NULL with errstr filled. */
uploader_t *uploader_new(const kconf_t *k, const upload_opts_t *o, char *errstr,
                         size_t errstr_size);
void uploader_free(uploader_t *u);

/* Uploads the file at path under the name `name` (NULL: the path's last
 * component; any directory part of name is dropped).  Blocks until every
 * record is acknowledged.  Returns 0 with *res filled, or -1 with a sentence
 * in errstr (unsupported type, unreadable file, too large, delivery failed,
 * dropped by retention, cancelled) — nothing is left half-claimed. */
int uploader_send_file(uploader_t *u, const char *path, const char *name,
                       upload_progress_fn progress, void *opaque, upload_result_t *res,
                       char *errstr, size_t errstr_size);

/* Makes a running uploader_send_file fail soon with "cancelled" (any thread). */
void uploader_cancel(uploader_t *u);

/* The last path component of name with control characters and a leading
 * dot-dot removed (a record's filename never carries a directory). */
void upload_clean_name(const char *name, char *out, size_t outsize);

#endif
