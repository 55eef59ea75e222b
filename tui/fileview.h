/* fileview.h — what the console's Files pane shows: recent uploads (being
 * sent, processed or rejected), per-type totals and the 30 s size-category
 * windows.
 *
 * Writers: the file pipeline's view sinks (the job's worker threads) and the upload
 * thread (progress).  Reader: the TUI thread, which copies a snapshot under a
 * short mutex each tick and draws from its copy.  No JSON leaves this module. */
#ifndef STREAMLAB_FILEVIEW_H
#define STREAMLAB_FILEVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define FILEVIEW_RECENT 12
#define FILEVIEW_WINDOWS 16

typedef enum { FV_SENDING, FV_SENT, FV_PROCESSED, FV_SMALL, FV_FAILED } fileview_state_t;

typedef struct fileview_upload {
    char filename[96];
    char file_type[12];
    char size_category[12];
    char info[96];   /* key metadata ("640x480 3 ch", "12 words", "25 fps 50 frames") */
    char detail[320]; /* where it landed, or why it failed */
    int64_t size, done;
    fileview_state_t state;
} fileview_upload_t;

typedef struct fileview_type {
    char file_type[12];
    int64_t files, bytes, largest, smallest;
} fileview_type_t;

typedef struct fileview_window {
    char category[12];
    int64_t start_ms, end_ms, files, bytes;
} fileview_window_t;

typedef struct fileview_snapshot {
    fileview_upload_t recent[FILEVIEW_RECENT]; /* newest first */
    int nrecent;
    fileview_type_t types[3];
    int ntypes;
    fileview_window_t windows[FILEVIEW_WINDOWS]; /* newest first */
    int nwindows;
    uint64_t processed, rejected;
} fileview_snapshot_t;

typedef struct fileview fileview_t;

fileview_t *fileview_new(void);
void fileview_free(fileview_t *v);

/* From the pipeline (v may be NULL: then nothing happens).  The records are borrowed. */
void fileview_on_processed(fileview_t *v, const json_t *rec);
void fileview_on_type_totals(fileview_t *v, const json_t *rec);
void fileview_on_window(fileview_t *v, const json_t *rec);
void fileview_on_rejected(fileview_t *v, const json_t *dead_letter);

/* From an upload thread: progress of the upload named filename (a new entry
 * the first time).  detail may be NULL. */
void fileview_upload_progress(fileview_t *v, const char *filename, const char *file_type,
                              int64_t done, int64_t size, fileview_state_t state,
                              const char *detail);

/* Copies the current state (TUI thread). */
void fileview_snapshot(fileview_t *v, fileview_snapshot_t *out);

#endif
