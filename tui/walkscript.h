/* walkscript.h — the walkthrough's steps as text (assets/walkthrough.txt), and
 * the word wrapping that lays them out.  Pure: no curses, no I/O but the load.
 *
 * The file is a list of steps:
 *
 *     # a comment line (outside a step's body)
 *     === Producer: records into a topic      <- a step starts; its title
 *     pane: 1                                 <- the pane to look at (1-6, 0: none)
 *     action: press p to start the producer   <- the one thing to do
 *     check: produced                         <- what makes the ✓ (walk_check_ids)
 *                                             <- a blank line ends the header
 *     Kafka keeps records in topics ...       <- the explanation (blank lines
 *                                                separate paragraphs)
 *
 * Every header field is required; unknown fields, a missing pane/action/check,
 * a pane outside 0-6 or an unknown check are errors with the line number. */
#ifndef STREAMLAB_WALKSCRIPT_H
#define STREAMLAB_WALKSCRIPT_H

#include <stddef.h>

typedef struct walk_step {
    char *title, *action, *check, *body; /* owned by the script */
    int pane;                            /* 1-6, or 0 */
    int line;                            /* where the step starts in the file */
} walk_step_t;

typedef struct walk_script {
    walk_step_t *steps;
    int n;
} walk_script_t;

/* Parses text; known_checks is a NULL-terminated list of check names.
 * NULL with err filled ("line N: ..."). */
walk_script_t *walk_script_parse(const char *text, const char *const *known_checks, char *err,
                                 size_t errsize);
/* Reads and parses a file.  NULL with err filled. */
walk_script_t *walk_script_load(const char *path, const char *const *known_checks, char *err,
                                size_t errsize);
void walk_script_free(walk_script_t *s);

/* Wraps UTF-8 text to width columns (one column per code point), breaking at
 * spaces (a word longer than width is cut).  "\n\n" starts a new paragraph
 * (an empty line between); a single "\n" is a space.  Writes up to max lines
 * of up to linesize bytes into lines (NUL-terminated) and returns how many
 * lines the whole text needs (which may be more than max). */
int walk_wrap(const char *text, int width, char (*lines)[256], int max);

/* The walkthrough box: rows it needs for a step at inner width w (title,
 * blank, body, blank, action, "look at", two figure lines, the check line,
 * the keys line).  A step fits an 80x24 terminal when this is at most
 * WALK_BOX_ROWS_80x24 with w = WALK_BOX_TEXT_80x24. */
int walk_rows_needed(const walk_step_t *s, int w);
#define WALK_BOX_ROWS_80x24 20 /* 22 rows of box less its border */
#define WALK_BOX_TEXT_80x24 36 /* 40 columns of box less border and margins */

#endif
