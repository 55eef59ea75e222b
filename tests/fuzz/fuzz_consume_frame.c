/* fuzz_consume_frame.c — `streamlab consume --save-dir DIR --ascii`'s frame
 * path (handle_frame in tui/cmd_consume.c) on any record value: JSON,
 * frame_id turned into a file name, base64, the JPEG written to DIR, its
 * header read, the decode and libcaca's ASCII art.  Bad records are counted
 * and reported, never fatal.
 *
 * handle_frame is static: the file is included here, and the library's own
 * cmd_consume.o is then not pulled from the archive (this file defines
 * everything it would).  Its stdout goes to /dev/null; the saved frames go
 * to a private directory emptied after each input. */
#include "tui/cli/cmd_consume.c"

#include <dirent.h>

#include "fuzzlib.h"

static char save_dir[] = "/tmp/streamlab-fuzz-consume-XXXXXX";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!mkdtemp(save_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    if (!freopen("/dev/null", "w", stdout))
        exit(1);
    return 0;
}

static void empty_dir(void)
{
    DIR *d = opendir(save_dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        snprintf(path, sizeof path, "%s/%s", save_dir, e->d_name);
        /* Every name handle_frame makes is a plain file name inside save_dir. */
        FUZZ_CHECK(e->d_type == DT_REG, "%s is not a regular file", path);
        unlink(path);
    }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The last byte picks the options (--cols 8-135, ANSI colours or not),
     * as a user would on the command line. */
    uint8_t opt = size ? data[size - 1] : 0;
    frame_out_t fo = {.save_dir = save_dir, .ascii = true, .ansi = opt & 1,
                      .cols = 8 + (opt >> 1), .art = frameart_new()};
    kmsg_t m = {.topic = "video_frames", .partition = 0, .offset = 1, .timestamp_ms = -1,
                .value = size ? (const char *)data : NULL, .len = size};
    handle_frame(&m, &fo, 1);
    frameart_free(fo.art);
    empty_dir();
    return 0;
}
