/* watchdir.h — a drop folder: files that appear in DIR are handed to a
 * callback once they are complete, then moved to DIR/.sent/ (or DIR/.failed/
 * when the callback fails, with the reason in DIR/.failed/NAME.error).
 *
 * "Complete" means its size and modification time did not change over two
 * scans one second apart, so a file still being copied in is left alone.
 * Names starting with '.' are ignored (editors' and copiers' temp files).
 * Threading: one thread runs watchdir_run (or calls watchdir_scan);
 * watchdir_stop may be called from any thread or a signal handler. */
#ifndef STREAMLAB_WATCHDIR_H
#define STREAMLAB_WATCHDIR_H

#include <stddef.h>

typedef struct watchdir watchdir_t;

/* Uploads path; 0, or -1 with a reason in err. */
typedef int (*watchdir_fn)(void *opaque, const char *path, char *err, size_t errsize);

/* dir must exist; .sent and .failed are made in it.  NULL with errstr filled. */
watchdir_t *watchdir_new(const char *dir, watchdir_fn fn, void *opaque, char *errstr,
                         size_t errstr_size);
void watchdir_free(watchdir_t *w);
/* One scan: hands every file that is now stable to fn.  Returns how many were handled. */
int watchdir_scan(watchdir_t *w);
/* Scans every 500 ms until watchdir_stop. */
void watchdir_run(watchdir_t *w);
void watchdir_stop(watchdir_t *w);

#endif
