#include "inspector.h"
#include <stdlib.h>
struct inspector { int x; };
inspector_t *inspector_new(session_t *s) { (void)s; return calloc(1, sizeof(inspector_t)); }
void inspector_free(inspector_t *in) { free(in); }
bool inspector_visible(const inspector_t *in) { (void)in; return false; }
void inspector_show(inspector_t *in, app_t *a) { (void)in, (void)a; }
int inspector_key(inspector_t *in, app_t *a, int key) { (void)in, (void)a, (void)key; return 0; }
void inspector_tick(inspector_t *in, app_t *a) { (void)in, (void)a; }
void inspector_draw(inspector_t *in, app_t *a) { (void)in, (void)a; }
bool inspector_shown_json(const inspector_t *in, const char *topic) { (void)in, (void)topic; return true; }
