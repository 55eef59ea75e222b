/* fuzz_filesaver.c — `streamlab consume --save-dir` (producers/filesaver.c)
 * on arbitrary records, one per line: chunk records with any names (path
 * traversal, NUL, long, empty), indexes, counts, sizes, hashes and base64.
 *
 * Invariants: nothing is ever written outside the save directory (its parent
 * holds only it after every input), and after filesaver_finish no temporary
 * file of an unfinished upload is left (only saved files stay, and those are
 * removed here before the next input). */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "producers/filesaver.h"
#include "fuzzlib.h"

static char root[PATH_MAX], dir[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* How many entries DIR has; names[] gets the first one's name. */
static int entries(const char *d, char *first, size_t size)
{
    DIR *h = opendir(d);
    FUZZ_CHECK(h != NULL, "cannot open %s", d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(h)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n++ == 0)
            snprintf(first, size, "%s", e->d_name);
    }
    closedir(h);
    return n;
}

static void ignore(void *opaque, const char *msg) { (void)opaque, (void)msg; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root[0]) {
        snprintf(root, sizeof root, "%s/streamlab-fuzz-saver-%d",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        FUZZ_CHECK(mkdir(root, 0700) == 0, "cannot make %s", root);
        snprintf(dir, sizeof dir, "%s/out", root);
    }
    mkdir(dir, 0700);
    char err[256];
    filesaver_t *s = filesaver_new(dir, err, sizeof err);
    FUZZ_CHECK(s != NULL, "filesaver_new: %s", err);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char msg[1024];
        filesaver_event_t ev = filesaver_add(s, p, len, msg, sizeof msg);
        FUZZ_CHECK(ev == FILESAVER_PENDING || msg[0] != '\0', "event %d without a message",
                   (int)ev);
        p += len + (nl != NULL);
    }
    filesaver_finish(s, ignore, NULL);
    filesaver_free(s);
    char first[NAME_MAX + 1] = "";
    int n = entries(root, first, sizeof first);
    FUZZ_CHECK(n == 1 && !strcmp(first, "out"), "something was written beside the save "
               "directory: %d entries in %s, first \"%s\"", n, root, first);
    /* Hidden temporary files of unfinished uploads must be gone. */
    DIR *h = opendir(dir);
    struct dirent *e;
    while (h && (e = readdir(h)) != NULL)
        FUZZ_CHECK(strncmp(e->d_name, ".streamlab-partial-", 19) != 0,
                   "a temporary file stayed: %s", e->d_name);
    if (h)
        closedir(h);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
