/* filemeta.c — see filemeta.h.  Each probe opens and closes its own library
 * handles, so uploads on several threads never share state. */
#include "producers/filemeta.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <magic.h>
#include <math.h>
#include <poppler.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "engine/util.h"

static const char *const exts[3][8] = {
    [FILEMETA_DOCUMENT] = {"txt", "pdf", "doc", "docx", "rtf", NULL},
    [FILEMETA_VIDEO] = {"mp4", "avi", "mov", "mkv", "wmv", "flv", "webm", NULL},
    [FILEMETA_IMAGE] = {"jpg", "jpeg", "png", "gif", "bmp", "tiff", NULL},
};

const char *filemeta_kind_name(filemeta_kind_t k)
{
    return k == FILEMETA_VIDEO ? "video" : k == FILEMETA_IMAGE ? "image" : "document";
}

const char *filemeta_kind_topic(filemeta_kind_t k)
{
    return k == FILEMETA_VIDEO   ? "uploaded_videos"
           : k == FILEMETA_IMAGE ? "uploaded_images"
                                 : "uploaded_documents";
}

static const char *ext_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : NULL;
}

int filemeta_kind_of_name(const char *name)
{
    const char *ext = ext_of(name);
    if (!ext)
        return -1;
    for (int k = 0; k < 3; k++)
        for (int i = 0; exts[k][i]; i++)
            if (!strcasecmp(ext, exts[k][i]))
                return k;
    return -1;
}

/* Whether libmagic's answer fits the kind the extension claims.  Documents
 * cover several container MIME types (a .docx is a zip, a .doc an OLE file). */
static bool mime_fits(filemeta_kind_t kind, const char *ext, const char *mime)
{
    switch (kind) {
    case FILEMETA_IMAGE: return !strncmp(mime, "image/", 6);
    case FILEMETA_VIDEO:
        return !strncmp(mime, "video/", 6) || !strcmp(mime, "application/vnd.ms-asf");
    case FILEMETA_DOCUMENT:
        if (!strcasecmp(ext, "txt"))
            return !strncmp(mime, "text/", 5) || strstr(mime, "empty") != NULL ||
                   !strcmp(mime, "application/json");
        if (!strcasecmp(ext, "pdf"))
            return !strcmp(mime, "application/pdf");
        if (!strcasecmp(ext, "rtf"))
            return strstr(mime, "rtf") != NULL;
        if (!strcasecmp(ext, "docx"))
            return !strcmp(mime, "application/zip") ||
                   !strncmp(mime, "application/vnd.openxmlformats-officedocument", 45);
        return !strcmp(mime, "application/msword") || !strcmp(mime, "application/CDFV2") ||
               !strcmp(mime, "application/vnd.ms-office") ||
               !strcmp(mime, "application/x-ole-storage");
    }
    return false;
}

int filemeta_detect(const char *path, const char *name, filemeta_kind_t *kind, char *mime,
                    size_t mimesize, char *errstr, size_t errstr_size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(errstr, errstr_size, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    int k = filemeta_kind_of_name(name);
    if (k < 0) {
        const char *ext = ext_of(name);
        snprintf(errstr, errstr_size,
                 "unsupported file type%s%s%s for %s: allowed are documents (txt pdf doc docx rtf), "
                 "videos (mp4 avi mov mkv wmv flv webm) and images (jpg jpeg png gif bmp tiff)",
                 ext ? " \"." : "", ext ? ext : "", ext ? "\"" : " (no extension)", name);
        close(fd);
        return -1;
    }
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
    if (!m || magic_load(m, NULL) < 0) {
        snprintf(errstr, errstr_size, "libmagic: %s", m ? magic_error(m) : "cannot start");
        if (m)
            magic_close(m);
        close(fd);
        return -1;
    }
    const char *t = magic_descriptor(m, fd);
    /* libmagic calls a file of one or two characters "octet-stream"; a short
     * run of UTF-8 without NULs is text all the same. */
    char head[16];
    ssize_t hn = t && !strcmp(t, "application/octet-stream") && st.st_size < (off_t)sizeof head
                     ? pread(fd, head, sizeof head, 0)
                     : -1;
    if (hn > 0) {
        char *c = filemeta_utf8_clean(head, (size_t)hn, sizeof head);
        if (strlen(c) == (size_t)hn && !memcmp(c, head, (size_t)hn))
            t = "text/plain";
        free(c);
    }
    close(fd);
    if (!t) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", path, magic_error(m));
        magic_close(m);
        return -1;
    }
    snprintf(mime, mimesize, "%s", t);
    magic_close(m);
    if (!mime_fits((filemeta_kind_t)k, ext_of(name), mime)) {
        snprintf(errstr, errstr_size,
                 "unsupported file type: %s is named as %s %s (.%s) but its content is %s", name,
                 k == FILEMETA_IMAGE ? "an" : "a", filemeta_kind_name((filemeta_kind_t)k),
                 ext_of(name), mime);
        return -1;
    }
    *kind = (filemeta_kind_t)k;
    return 0;
}

/* --- text ---------------------------------------------------------------- */

char *filemeta_utf8_clean(const char *s, size_t len, size_t max)
{
    char *out = xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = util_utf8_char(s + i, len - i); /* 0 for NUL too: it would end the string */
        bool ok = n > 0;
        size_t w = ok ? n : 1;
        if (o + w > max)
            break;
        if (ok)
            memcpy(out + o, s + i, n);
        else
            out[o] = '?';
        o += w;
        i += ok ? n : 1;
    }
    out[o] = '\0';
    return out;
}

/* The extracted text as it comes, in pieces: counted whole (the original's
 * text_length and word_count describe the whole document), kept only up to
 * FILEMETA_TEXT_MAX bytes for text_content.  Bytes that are not UTF-8 count as
 * one '?' each; a character cut between two pieces is put back together. */
typedef struct textacc {
    GString *preview;
    util_textcount_t tc;
    bool truncated;
    char carry[4];
    size_t ncarry;
} textacc_t;

static void textacc_init(textacc_t *t)
{
    *t = (textacc_t){.preview = g_string_new(NULL)};
}

static void textacc_clean_piece(textacc_t *t, const char *s, size_t len)
{
    char *c = filemeta_utf8_clean(s, len, len);
    size_t n = strlen(c); /* the same length: each bad byte became one '?' */
    util_textcount_feed(&t->tc, c, n);
    size_t room = t->preview->len < FILEMETA_TEXT_MAX ? FILEMETA_TEXT_MAX - t->preview->len : 0;
    if (n > room) {
        t->truncated = true;
        while (room > 0 && ((unsigned char)c[room] & 0xC0) == 0x80)
            room--; /* not in the middle of a character */
        n = room;
    }
    g_string_append_len(t->preview, c, (gssize)n);
    free(c);
}

/* Adds len bytes; final: no more come after them (a cut character is bad). */
static void textacc_add(textacc_t *t, const char *s, size_t len, bool final)
{
    char *buf = xmalloc(t->ncarry + len + 1);
    memcpy(buf, t->carry, t->ncarry);
    memcpy(buf + t->ncarry, s, len);
    size_t n = t->ncarry + len, keep = 0;
    t->ncarry = 0;
    if (!final) { /* hold back a character whose last bytes are still to come */
        for (size_t back = 1; back <= 3 && back <= n; back++) {
            unsigned char b = (unsigned char)buf[n - back];
            if ((b & 0xC0) == 0x80)
                continue;
            size_t want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            if (want > back)
                keep = back;
            break;
        }
    }
    memcpy(t->carry, buf + n - keep, keep);
    t->ncarry = keep;
    /* NULs would end the cleaned string early: they become '?' piecewise. */
    for (size_t at = 0; at < n - keep;) {
        size_t z = at;
        while (z < n - keep && buf[z])
            z++;
        if (z > at)
            textacc_clean_piece(t, buf + at, z - at);
        if (z < n - keep) {
            textacc_clean_piece(t, "?", 1);
            z++;
        }
        at = z;
    }
    free(buf);
}

/* Sets text_content (the preview), text_length, word_count and text_truncated
 * in meta, and frees the accumulator. */
static void textacc_finish(textacc_t *t, json_t *meta)
{
    textacc_add(t, "", 0, true);
    json_t *j = json_string(t->preview->str);
    json_object_set_new(meta, "text_content", j ? j : json_string(""));
    json_object_set_new(meta, "text_length", json_integer(t->tc.chars));
    json_object_set_new(meta, "word_count", json_integer(t->tc.words));
    json_object_set_new(meta, "text_truncated", json_boolean(t->truncated));
    g_string_free(t->preview, TRUE);
}

static int plain_text(const char *path, textacc_t *t, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "cannot read the text: %s", strerror(errno));
        return -1;
    }
    char *buf = xmalloc(1 << 16);
    size_t n;
    while ((n = fread(buf, 1, 1 << 16, f)) > 0)
        textacc_add(t, buf, n, false);
    free(buf);
    fclose(f);
    return 0;
}

static int pdf_text(const char *path, textacc_t *t, char *err, size_t errsize)
{
    char *abs = realpath(path, NULL);
    GError *ge = NULL;
    gchar *uri = abs ? g_filename_to_uri(abs, NULL, &ge) : NULL;
    free(abs);
    PopplerDocument *doc = uri ? poppler_document_new_from_file(uri, NULL, &ge) : NULL;
    g_free(uri);
    if (!doc) {
        snprintf(err, errsize, "PDF: %s", ge ? ge->message : "cannot open");
        if (ge)
            g_error_free(ge);
        return -1;
    }
    int pages = poppler_document_get_n_pages(doc);
    bool any = false;
    for (int i = 0; i < pages; i++) {
        PopplerPage *p = poppler_document_get_page(doc, i);
        if (!p)
            continue;
        char *s = poppler_page_get_text(p);
        if (s) {
            if (any)
                textacc_add(t, "\n", 1, true);
            textacc_add(t, s, strlen(s), true);
            any = true;
            g_free(s);
        }
        g_object_unref(p);
    }
    g_object_unref(doc);
    return 0;
}

/* Word's text lives in <w:t> runs inside <w:p> paragraphs. */
static void docx_walk(xmlNode *n, textacc_t *t)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)n->name;
        if (!strcmp(name, "t")) {
            xmlChar *c = xmlNodeGetContent(n);
            if (c) {
                textacc_add(t, (const char *)c, strlen((const char *)c), true);
                xmlFree(c);
            }
        } else if (!strcmp(name, "tab")) {
            textacc_add(t, "\t", 1, true);
        } else {
            docx_walk(n->children, t);
            if (!strcmp(name, "p"))
                textacc_add(t, "\n", 1, true);
        }
    }
}

static int docx_text(const char *path, textacc_t *t, char *err, size_t errsize)
{
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    if (!z) {
        snprintf(err, errsize, "DOCX: not a readable zip archive");
        return -1;
    }
    zip_stat_t zs;
    zip_file_t *zf = NULL;
    if (zip_stat(z, "word/document.xml", 0, &zs) < 0 || !(zs.valid & ZIP_STAT_SIZE) ||
        zs.size > 64u * 1024 * 1024 || !(zf = zip_fopen(z, "word/document.xml", 0))) {
        snprintf(err, errsize, "DOCX: no readable word/document.xml");
        zip_close(z);
        return -1;
    }
    char *xml = xmalloc(zs.size + 1);
    zip_int64_t got = zip_fread(zf, xml, zs.size);
    zip_fclose(zf);
    zip_close(z);
    xmlDoc *doc = got > 0 ? xmlReadMemory(xml, (int)got, "document.xml", NULL,
                                          XML_PARSE_NONET | XML_PARSE_NOERROR |
                                              XML_PARSE_NOWARNING)
                          : NULL;
    free(xml);
    if (!doc) {
        snprintf(err, errsize, "DOCX: word/document.xml is not well-formed XML");
        return -1;
    }
    docx_walk(xmlDocGetRootElement(doc), t);
    xmlFreeDoc(doc);
    return 0;
}

/* --- images and videos through FFmpeg ------------------------------------ */

static int probe_media(const char *path, json_t *meta, bool video, char *err, size_t errsize)
{
    static _Atomic int quiet;
    if (!quiet++)
        av_log_set_level(AV_LOG_QUIET);
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path, NULL, NULL) < 0) {
        snprintf(err, errsize, "FFmpeg cannot open it as media");
        return -1;
    }
    if (avformat_find_stream_info(fc, NULL) < 0) {
        snprintf(err, errsize, "FFmpeg finds no stream information");
        avformat_close_input(&fc);
        return -1;
    }
    int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (si < 0) {
        snprintf(err, errsize, "no picture stream in it");
        avformat_close_input(&fc);
        return -1;
    }
    AVStream *st = fc->streams[si];
    int w = st->codecpar->width, h = st->codecpar->height;
    json_object_set_new(meta, "width", json_integer(w));
    json_object_set_new(meta, "height", json_integer(h));
    if (!video) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)st->codecpar->format);
        json_object_set_new(meta, "channels", json_integer(d ? d->nb_components : 3));
        json_object_set_new(meta, "total_pixels", json_integer((json_int_t)w * h));
        avformat_close_input(&fc);
        return 0;
    }
    AVRational r = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    double fps = r.den ? av_q2d(r) : 0.0;
    int64_t frames = st->nb_frames;
    if (frames <= 0) { /* containers without a frame count: count the packets */
        AVPacket *pkt = av_packet_alloc();
        frames = 0;
        while (av_read_frame(fc, pkt) >= 0) {
            frames += pkt->stream_index == si;
            av_packet_unref(pkt);
        }
        av_packet_free(&pkt);
    }
    double duration = fc->duration > 0 ? fc->duration / (double)AV_TIME_BASE
                      : fps > 0        ? frames / fps
                                       : 0.0;
    json_object_set_new(meta, "fps", json_real(round(fps * 100) / 100));
    json_object_set_new(meta, "frame_count", json_integer(frames));
    json_object_set_new(meta, "duration", json_real(round(duration * 1000) / 1000));
    avformat_close_input(&fc);
    return 0;
}

json_t *filemeta_extract(const char *path, filemeta_kind_t kind, const char *mime)
{
    json_t *meta = json_object();
    char err[256] = "";
    if (kind == FILEMETA_DOCUMENT) {
        textacc_t t;
        textacc_init(&t);
        if (!strncmp(mime, "text/plain", 10) || strstr(mime, "empty"))
            plain_text(path, &t, err, sizeof err);
        else if (!strcmp(mime, "application/pdf"))
            pdf_text(path, &t, err, sizeof err);
        else if (!strcasecmp(ext_of(path) ? ext_of(path) : "", "docx") ||
                 !strncmp(mime, "application/vnd.openxmlformats-officedocument", 45) ||
                 !strcmp(mime, "application/zip"))
            docx_text(path, &t, err, sizeof err);
        else
            snprintf(err, sizeof err, "text extraction is unsupported for %s", mime);
        textacc_finish(&t, meta);
        json_object_set_new(meta, "mime_type", json_string(mime));
    } else {
        json_object_set_new(meta, "mime_type", json_string(mime));
        probe_media(path, meta, kind == FILEMETA_VIDEO, err, sizeof err);
    }
    if (err[0])
        json_object_set_new(meta, "extraction_error", json_string(err));
    return meta;
}
