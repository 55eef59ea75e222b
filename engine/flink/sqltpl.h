/* sqltpl.h — fills a SQL template: the text of a file in assets/flink/ (embedded by
 * sqlassets.S) whose named placeholders ${name} are replaced by the values the caller
 * gives. The SQL lives in the templates; which template is used for which option, and the
 * values, are the caller's (flinksql.c).
 *
 * The rules (assets/flink/README.md repeats them for whoever edits a template):
 * - a name is lower-case letters, digits and '_'; a "${" that does not open such a
 *   placeholder is an error;
 * - every placeholder must have a value and every value must be used: a name misspelt on
 *   either side is an error that names the template, never an empty piece of SQL;
 * - the file's final newline is not part of the template;
 * - a line that holds only a placeholder whose value is empty is dropped with its newline
 *   (an optional line, such as the bounded scan mode).
 * Pure function of its arguments: no I/O, thread-safe. */
#ifndef STREAMLAB_SQLTPL_H
#define STREAMLAB_SQLTPL_H

#include <stddef.h>

typedef struct sqltpl_var {
    const char *name;  /* without "${" and "}" */
    const char *value; /* copied into the result; not kept */
} sqltpl_var_t;

/* At most this many values per template. */
#define SQLTPL_MAX_VARS 32

/* Fills TEXT, the template called NAME (for messages: "txn_view.sql"), with the NVARS
 * values in VARS. Returns a new string the caller frees, or NULL with the reason in err
 * (unknown or unused placeholder, malformed "${", out of memory). */
char *sqltpl_fill(const char *name, const char *text, const sqltpl_var_t *vars, size_t nvars,
                  char *err, size_t errlen);

#endif
