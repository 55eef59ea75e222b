/* assets.h — where the binary finds assets/ (the walkthrough's text).
 *
 * In order: $STREAMLAB_ASSETS (a directory); "assets" in the directory of the
 * running executable or in one of its parents, up to three levels up
 * (build/streamlab and build/asan/streamlab find the source tree's assets/);
 * /usr/share/streamlab/assets.  The first that holds the file wins. */
#ifndef STREAMLAB_ASSETS_H
#define STREAMLAB_ASSETS_H

#include <stddef.h>

/* Fills path with the full path of assets/NAME; 0, or -1 with path holding
 * the places tried (for an error message). */
int assets_find(const char *name, char *path, size_t size);

#endif
