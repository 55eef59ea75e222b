/* filemeta.h — what kind of file this is, and the metadata the original's web
 * page attached to an upload.
 *
 * The type comes from the content (libmagic) and must agree with the
 * extension lists of the original (documents txt pdf doc docx rtf; videos mp4
 * avi mov mkv wmv flv webm; images jpg jpeg png gif bmp tiff): a .png that is
 * really a PDF, or a .exe, is refused.  Metadata: documents mime_type,
 * text_content (plain text directly, PDF with poppler-glib, DOCX from its XML
 * with libzip + libxml2, others say extraction is unsupported) — a preview of
 * FILEMETA_TEXT_MAX bytes — and text_length, word_count (Python's len(text) and
 * len(text.split()) of the whole extracted text) and text_truncated; images width,
 * height, channels, total_pixels; videos fps, frame_count, width, height,
 * duration (both probed with FFmpeg's libavformat/libavcodec).
 *
 * Thread-safe: every call opens its own libmagic/FFmpeg/poppler handles. */
#ifndef STREAMLAB_FILEMETA_H
#define STREAMLAB_FILEMETA_H

#include <jansson.h>
#include <stddef.h>

/* text_content is cut to this many bytes (at a UTF-8 boundary) so that a chunk
 * record, metadata included, stays under Kafka's 1 MB message limit; the
 * counts in the metadata still describe the whole text. */
#define FILEMETA_TEXT_MAX 8000

typedef enum { FILEMETA_DOCUMENT, FILEMETA_VIDEO, FILEMETA_IMAGE } filemeta_kind_t;

/* "document", "video", "image". */
const char *filemeta_kind_name(filemeta_kind_t k);
/* The topic of a kind: uploaded_documents, uploaded_videos, uploaded_images. */
const char *filemeta_kind_topic(filemeta_kind_t k);
/* The kind whose extension list holds name's extension (case-insensitive);
 * -1 if none. */
int filemeta_kind_of_name(const char *name);

/* Decides the kind of the file at path, stored under the name `name` (whose
 * extension counts; the path's own name does not).  Fills *kind and mime (the
 * content's MIME type from libmagic).  Returns 0, or -1 with a sentence in
 * errstr: unreadable, unsupported extension, or content that does not match it. */
int filemeta_detect(const char *path, const char *name, filemeta_kind_t *kind, char *mime,
                    size_t mimesize, char *errstr, size_t errstr_size);

/* The metadata object for a file of that kind (new reference, never NULL).
 * Extraction problems become fields ("extraction_error"), never a failure. */
json_t *filemeta_extract(const char *path, filemeta_kind_t kind, const char *mime);

/* A copy of s (len bytes) made valid UTF-8 (bad bytes become '?') and cut to at
 * most max bytes at a character boundary.  malloc'd; the caller frees it. */
char *filemeta_utf8_clean(const char *s, size_t len, size_t max);

#endif
