/* test_sqltpl.c — filling the Flink SQL twin's templates (engine/flink/sqltpl.c): named
 * placeholders, optional lines, and the errors that keep a misspelt name from turning into
 * empty SQL; and the embedding (engine/flink/sqlassets.S) lists every assets/flink/ file. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "engine/flink/sqlassets.h"
#include "engine/flink/sqltpl.h"
#include "testlib.h"

#define N(v) (sizeof(v) / sizeof *(v))

/* Fills text with vars; the result (a new string) or NULL with err filled. */
static char *fill(const char *text, const sqltpl_var_t *vars, size_t n, char *err, size_t errlen)
{
    err[0] = '\0';
    return sqltpl_fill("t.sql", text, vars, n, err, errlen);
}

static void test_placeholders_are_replaced_by_name_wherever_they_are(void)
{
    char err[256];
    const sqltpl_var_t v[] = {{"table", "t_x"}, {"window_seconds", "2.5"}};
    char *s = fill("INSERT INTO ${table}\n-- ${table} again: INTERVAL '${window_seconds}' SECOND\n",
                   v, N(v), err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "INSERT INTO t_x\n-- t_x again: INTERVAL '2.5' SECOND");
    free(s);
    /* no placeholder, and text that only looks like one */
    s = fill("a $ {b} $x {y} $", NULL, 0, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "a $ {b} $x {y} $");
    free(s);
    s = fill("", NULL, 0, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "");
    free(s);
}

static void test_only_the_final_newline_of_the_file_is_dropped(void)
{
    char err[256];
    char *s = fill("a\n\n", NULL, 0, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "a\n");
    free(s);
    s = fill("a", NULL, 0, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "a");
    free(s);
}

static void test_a_line_of_only_an_empty_placeholder_is_dropped_with_its_newline(void)
{
    char err[256];
    const sqltpl_var_t empty[] = {{"opt", ""}}, full[] = {{"opt", "  'b' = 'c',"}};
    const char *t = "  'a' = 'b',\n${opt}\n  'd' = 'e'\n";
    char *s = fill(t, empty, 1, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "  'a' = 'b',\n  'd' = 'e'");
    free(s);
    s = fill(t, full, 1, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "  'a' = 'b',\n  'b' = 'c',\n  'd' = 'e'");
    free(s);
    /* the last line: the newline before it goes */
    s = fill("x\n${opt}\n", empty, 1, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "x");
    free(s);
    /* not alone on its line: only the placeholder goes */
    s = fill("x ${opt}\ny", empty, 1, err, sizeof err);
    CU_ASSERT_STRING_EQUAL(s, "x \ny");
    free(s);
}

static void test_an_unknown_placeholder_is_an_error_naming_template_line_and_name(void)
{
    char err[256];
    const sqltpl_var_t v[] = {{"window_seconds", "30"}};
    CU_ASSERT_PTR_NULL(fill("a\nINTERVAL '${window_second}' SECOND\n", v, N(v), err, sizeof err));
    CU_ASSERT_STRING_EQUAL(err, "template t.sql, line 2: unknown placeholder ${window_second}");
}

static void test_a_value_no_placeholder_uses_is_an_error(void)
{
    char err[256];
    const sqltpl_var_t v[] = {{"table", "t"}, {"group", "g"}};
    CU_ASSERT_PTR_NULL(fill("INSERT INTO ${table}", v, N(v), err, sizeof err));
    CU_ASSERT_STRING_EQUAL(err, "template t.sql has no placeholder ${group}");
}

static void test_a_malformed_placeholder_is_an_error(void)
{
    char err[256];
    const sqltpl_var_t v[] = {{"a", "x"}};
    const char *bad[] = {"${a", "${}", "${A}", "${a b}", "${a}${", "x\n${-a}"};
    for (size_t i = 0; i < N(bad); i++) {
        CU_ASSERT_PTR_NULL(fill(bad[i], v, N(v), err, sizeof err));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "opens no placeholder"));
    }
}

/* The names in the "sqlasset NAME" lines of sqlassets.S: "\nNAME1\nNAME2\n". */
static char *listed_templates(void)
{
    FILE *f = fopen("engine/flink/sqlassets.S", "r");
    if (!f)
        return NULL;
    char line[256], *names = strdup("\n");
    size_t len = 1;
    while (names && fgets(line, sizeof line, f)) {
        char name[128];
        if (sscanf(line, " sqlasset%*[ \t]%127[a-z0-9_]", name) == 1) {
            char *n = realloc(names, len + strlen(name) + 2);
            if (!n) {
                free(names);
                names = NULL;
                break;
            }
            names = n;
            len += (size_t)sprintf(names + len, "%s\n", name);
        }
    }
    fclose(f);
    return names;
}

static void test_every_template_file_is_embedded_and_every_embedded_one_exists(void)
{
    char *listed = listed_templates();
    CU_ASSERT_PTR_NOT_NULL_FATAL(listed);
    DIR *d = opendir("assets/flink");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    size_t files = 0, lines = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".sql"))
            continue;
        files++;
        char want[300];
        snprintf(want, sizeof want, "\n%.*s\n", (int)(n - 4), e->d_name);
        if (!strstr(listed, want))
            fprintf(stderr, "assets/flink/%s is not listed in engine/flink/sqlassets.S\n",
                    e->d_name);
        CU_ASSERT_PTR_NOT_NULL(strstr(listed, want));
    }
    closedir(d);
    for (const char *p = listed + 1; *p; p++)
        lines += *p == '\n';
    /* as many listed as there are files: none listed twice, none without its file */
    CU_ASSERT_EQUAL(lines, files);
    CU_ASSERT_TRUE(files >= 30);
    free(listed);
    /* and what is embedded is the file's text */
    CU_ASSERT_STRING_EQUAL(sqlasset_set_parallelism,
                           "SET 'parallelism.default' = '${parallelism}'\n");
}

static CU_TestInfo tests[] = {
    {"placeholders are replaced by name wherever they are",
     test_placeholders_are_replaced_by_name_wherever_they_are},
    {"only the final newline of the file is dropped",
     test_only_the_final_newline_of_the_file_is_dropped},
    {"a line of only an empty placeholder is dropped with its newline",
     test_a_line_of_only_an_empty_placeholder_is_dropped_with_its_newline},
    {"an unknown placeholder is an error naming template, line and name",
     test_an_unknown_placeholder_is_an_error_naming_template_line_and_name},
    {"a value no placeholder uses is an error", test_a_value_no_placeholder_uses_is_an_error},
    {"a malformed placeholder is an error", test_a_malformed_placeholder_is_an_error},
    {"every template file is embedded and every embedded one exists",
     test_every_template_file_is_embedded_and_every_embedded_one_exists},
    CU_TEST_INFO_NULL};

TESTLIB_MAIN("sqltpl", tests, NULL, NULL)
