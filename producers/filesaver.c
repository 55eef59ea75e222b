/* filesaver.c — see filesaver.h. */
#include "producers/filesaver.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/util.h"
#include "producers/uploader.h"

typedef struct pending {
    char *file_id;
    char name[256], orig[256], tmp[64], hash[40];
    int fd;
    int64_t next, count, bytes, size;
    EVP_MD_CTX *md5;
    bool failed; /* reported already: its remaining chunks are skipped quietly */
} pending_t;

struct filesaver {
    char *dir;
    int dirfd;
    pending_t *p;
    size_t np;
};

filesaver_t *filesaver_new(const char *dir, char *errstr, size_t errstr_size)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "cannot open directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    filesaver_t *s = xcalloc(1, sizeof *s);
    s->dir = xstrdup(dir);
    s->dirfd = fd;
    return s;
}

static void drop(filesaver_t *s, size_t i)
{
    pending_t *p = &s->p[i];
    if (p->fd >= 0) {
        close(p->fd);
        unlinkat(s->dirfd, p->tmp, 0);
    }
    EVP_MD_CTX_free(p->md5);
    free(p->file_id);
    s->p[i] = s->p[--s->np];
}

void filesaver_free(filesaver_t *s)
{
    if (!s)
        return;
    while (s->np)
        drop(s, s->np - 1);
    free(s->p);
    close(s->dirfd);
    free(s->dir);
    free(s);
}

/* Reported as broken: delete the partial file, remember the upload until its
 * last chunk so that one broken upload makes one message. */
static void fail_pending(filesaver_t *s, size_t i, int64_t idx)
{
    pending_t *p = &s->p[i];
    if (idx >= p->count - 1) {
        drop(s, i);
        return;
    }
    if (p->fd >= 0) {
        close(p->fd);
        unlinkat(s->dirfd, p->tmp, 0);
        p->fd = -1;
    }
    p->failed = true;
}

static int64_t int_field(const json_t *v, const char *name, int64_t dflt)
{
    json_t *f = json_object_get(v, name);
    return json_is_integer(f) ? json_integer_value(f) : dflt;
}

/* Decodes base64 content and appends it to the temporary file. */
static int append(pending_t *p, const json_t *content)
{
    const char *b64 = json_string_value(content);
    size_t len = json_string_length(content);
    if (!b64 || len % 4)
        return -1;
    unsigned char buf[3 * 4096];
    for (size_t at = 0; at < len; at += 4 * 4096) {
        size_t n = len - at < 4 * 4096 ? len - at : 4 * 4096;
        int got = EVP_DecodeBlock(buf, (const unsigned char *)b64 + at, (int)n);
        if (got < 0)
            return -1;
        if (at + n == len)
            got -= (b64[at + n - 1] == '=') + (n >= 2 && b64[at + n - 2] == '=');
        EVP_DigestUpdate(p->md5, buf, (size_t)got);
        for (int off = 0; off < got;) {
            ssize_t w = write(p->fd, buf + off, (size_t)(got - off));
            if (w < 0)
                return -2;
            off += (int)w;
        }
        p->bytes += got;
    }
    return 0;
}

filesaver_event_t filesaver_add(filesaver_t *s, const char *value, size_t len, char *msg,
                                size_t msgsize)
{
    json_t *v = value ? json_loadb(value, len, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(v, "file_id"));
    const char *fname = json_string_value(json_object_get(v, "filename"));
    const char *hash = json_string_value(json_object_get(v, "file_hash"));
    /* A chunk's bytes are in chunk_content (file_content in chunks of the older shape). */
    json_t *content = json_object_get(v, "chunk_content");
    if (!content)
        content = json_object_get(v, "file_content");
    if (!id || !fname || !hash || !json_is_string(content)) {
        snprintf(msg, msgsize, "skipped: not an upload record (file_id, filename, file_hash and "
                               "file_content or chunk_content are needed)");
        json_decref(v);
        return FILESAVER_INVALID;
    }
    int64_t idx = int_field(v, "chunk_index", 0), count = int_field(v, "chunk_count", 1);
    size_t i = 0;
    while (i < s->np && strcmp(s->p[i].file_id, id))
        i++;
    filesaver_event_t ev = FILESAVER_PENDING;
    if (i < s->np && s->p[i].failed) {
        if (idx >= s->p[i].count - 1)
            drop(s, i);
        json_decref(v);
        return FILESAVER_PENDING;
    }
    if (i == s->np) {
        s->p = xrealloc(s->p, (s->np + 1) * sizeof *s->p);
        pending_t *p = &s->p[s->np];
        *p = (pending_t){.file_id = xstrdup(id), .count = count,
                         .size = int_field(v, "file_size", -1), .fd = -1};
        snprintf(p->orig, sizeof p->orig, "%s", fname);
        upload_clean_name(fname, p->name, sizeof p->name);
        snprintf(p->hash, sizeof p->hash, "%s", hash);
        snprintf(p->tmp, sizeof p->tmp, ".streamlab-partial-%d-%zu-%lld", (int)getpid(), s->np,
                 (long long)util_mono_us());
        p->fd = openat(s->dirfd, p->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0644);
        p->md5 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(p->md5, EVP_md5(), NULL);
        s->np++;
        if (idx != 0) {
            snprintf(msg, msgsize,
                     "incomplete: %s: chunk %lld came first, chunks 0..%lld are missing "
                     "(not saved)", fname, (long long)idx, (long long)idx - 1);
            fail_pending(s, i, idx);
            json_decref(v);
            return FILESAVER_INCOMPLETE;
        }
        if (p->fd < 0) {
            snprintf(msg, msgsize, "not saved: %s: cannot write in %s: %s", fname, s->dir,
                     strerror(errno));
            drop(s, i);
            json_decref(v);
            return FILESAVER_INCOMPLETE;
        }
    }
    pending_t *p = &s->p[i];
    if (idx != p->next || count != p->count) {
        snprintf(msg, msgsize,
                 "incomplete: %s: expected chunk %lld of %lld, got %lld; chunks are missing "
                 "(not saved)", p->orig, (long long)p->next, (long long)p->count, (long long)idx);
        fail_pending(s, i, idx);
        json_decref(v);
        return FILESAVER_INCOMPLETE;
    }
    int rc = append(p, content);
    if (rc < 0) {
        snprintf(msg, msgsize, "%s: %s: %s (not saved)", rc == -1 ? "corrupt" : "not saved",
                 p->orig, rc == -1 ? "its content is not base64" : strerror(errno));
        fail_pending(s, i, idx);
        json_decref(v);
        return rc == -1 ? FILESAVER_CORRUPT : FILESAVER_INCOMPLETE;
    }
    p->next++;
    if (p->next == p->count) {
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned dl;
        char md5[33];
        EVP_DigestFinal_ex(p->md5, d, &dl);
        for (unsigned k = 0; k < dl && k < 16; k++)
            sprintf(md5 + 2 * k, "%02x", d[k]);
        if (p->bytes != p->size || strcasecmp(md5, p->hash)) {
            snprintf(msg, msgsize,
                     "corrupt: %s: %lld bytes with MD5 %s, but the record says %lld bytes with "
                     "MD5 %s (not saved)", p->orig, (long long)p->bytes, md5, (long long)p->size,
                     p->hash);
            drop(s, i);
            json_decref(v);
            return FILESAVER_CORRUPT;
        }
        if (fsync(p->fd) < 0 || close(p->fd) < 0 ||
            renameat(s->dirfd, p->tmp, s->dirfd, p->name) < 0) {
            p->fd = -1;
            unlinkat(s->dirfd, p->tmp, 0);
            snprintf(msg, msgsize, "not saved: %s: %s", p->orig, strerror(errno));
            ev = FILESAVER_INCOMPLETE;
        } else {
            p->fd = -1;
            char cleaned[300] = "";
            if (strcmp(p->name, p->orig))
                snprintf(cleaned, sizeof cleaned, ", name \"%s\" cleaned", p->orig);
            snprintf(msg, msgsize, "saved %s/%s (%lld bytes, %lld chunk%s, md5 ok%s)", s->dir,
                     p->name, (long long)p->bytes, (long long)p->count, p->count == 1 ? "" : "s",
                     cleaned);
            ev = FILESAVER_SAVED;
        }
        drop(s, i);
    }
    json_decref(v);
    return ev;
}

int filesaver_finish(filesaver_t *s, void (*report)(void *opaque, const char *msg), void *opaque)
{
    int n = 0;
    while (s->np) {
        pending_t *p = &s->p[s->np - 1];
        if (p->failed) {
            drop(s, s->np - 1);
            continue;
        }
        char msg[600];
        snprintf(msg, sizeof msg, "incomplete: %s: %lld of %lld chunks arrived (not saved)",
                 p->orig, (long long)p->next, (long long)p->count);
        if (report)
            report(opaque, msg);
        drop(s, s->np - 1);
        n++;
    }
    return n;
}
