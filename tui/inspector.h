/* inspector.h — the message inspector (i, or Enter on pane 6): pick a topic,
 * browse a partition's records newest first, read one record's key,
 * partition, offset, timestamp, headers and value (JSON pretty-printed and
 * coloured, base64 payloads summarised); / searches values, g jumps to an
 * offset, f follows the tail.
 *
 * The Kafka reading is done by engine/inspect.c on its own thread; this side
 * only sends requests and draws snapshots, so the console never waits.
 * TUI thread only. */
#ifndef STREAMLAB_INSPECTOR_H
#define STREAMLAB_INSPECTOR_H

#include <stdbool.h>

#include "tui/app.h"

typedef struct inspector inspector_t;

inspector_t *inspector_new(session_t *s);
void inspector_free(inspector_t *in);

bool inspector_visible(const inspector_t *in);
void inspector_show(inspector_t *in, app_t *a);
/* Every key while shown: PANE_HANDLED (Esc from the topic list closes it). */
int inspector_key(inspector_t *in, app_t *a, int key);
/* Takes the reader's newest snapshot; call once per frame. */
void inspector_tick(inspector_t *in, app_t *a);
void inspector_draw(inspector_t *in, app_t *a);

/* True once a record of topic has been shown with its value decoded as JSON
 * (the walkthrough's serialisation step). */
bool inspector_shown_json(const inspector_t *in, const char *topic);

#endif
