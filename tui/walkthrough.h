/* walkthrough.h — the guided tour (w in the console, streamlab --walkthrough).
 *
 * The steps come from assets/walkthrough.txt (walkscript.h).  While it is
 * shown, a box on the side away from the step's pane explains the step, names
 * its action and shows a live figure; the step's pane gets the focus.  Each
 * step's check reads the frame's real state (session status, view snapshots,
 * the demo group, the inspector), never a key press: the ✓ appears when the
 * effect is visible, and stays for that step.
 *
 * Keys while shown: n next, b back, Esc leave (the step is kept); w shows it
 * again where it was.  Other keys go on to the console (p, t, v, ...).
 * TUI thread only. */
#ifndef STREAMLAB_WALKTHROUGH_H
#define STREAMLAB_WALKTHROUGH_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/app.h"

typedef struct walkthrough walkthrough_t;

/* The check names assets/walkthrough.txt may use (NULL-terminated). */
extern const char *const walk_check_ids[];

/* Loads the steps (assets_find("walkthrough.txt")).  NULL with err filled. */
walkthrough_t *walkthrough_new(char *err, size_t errsize);
void walkthrough_free(walkthrough_t *w);

bool walkthrough_visible(const walkthrough_t *w);
/* Shows it at the step it was on (the first, the first time). */
void walkthrough_show(walkthrough_t *w, app_t *a);
/* n, b, Esc while shown: PANE_HANDLED; anything else PANE_IGNORED. */
int walkthrough_key(walkthrough_t *w, app_t *a, int key);
/* Once per frame after the status copy: evaluates the current step's check. */
void walkthrough_tick(walkthrough_t *w, app_t *a);
/* Draws the box (after the panes). */
void walkthrough_draw(walkthrough_t *w, app_t *a);

/* The demo consumer group (c): adds a member, creating the group the first
 * time.  Returns the number of members or -1. */
int walkthrough_group_add(app_t *a);

#endif
