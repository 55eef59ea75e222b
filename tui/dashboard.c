#include "dashboard.h"
void dashboard_draw(app_t *a) { (void)a; }
bool dashboard_key(app_t *a, int key) { (void)a; (void)key; return false; }
