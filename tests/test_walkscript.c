/* test_walkscript.c — the walkthrough's step file and its layout (tui/walkscript.c),
 * the real assets/walkthrough.txt, and the demo group's split test (groupdemo_split).
 *
 * parse: a well-formed file gives its steps with title, pane, action, check and
 * body (paragraphs kept, trailing blank lines dropped); each malformed case is an
 * error naming its line.  wrap: words never split unless longer than a line, "\n\n"
 * is a paragraph break, UTF-8 counts code points.  The shipped file: at least 12
 * steps, every check known, every step fits the 80x24 box, the objectives of the
 * original README each have a step, the last step lists the exercises. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/groupdemo.h"
#include "tui/walkscript.h"
#include "tui/walkthrough.h"
#include "testlib.h"

static const char *const checks[] = {"produced", "window", "none", NULL};

static void test_parse_reads_every_field(void)
{
    const char *text = "# comment\n"
                       "\n"
                       "=== First step\n"
                       "pane: 1\n"
                       "action: press p\n"
                       "check: produced\n"
                       "\n"
                       "Line one\n"
                       "line two.\n"
                       "\n"
                       "Second paragraph.\n"
                       "\n\n"
                       "===   Second  \n"
                       "check: none\n"
                       "action: look\n"
                       "pane: 0\n";
    char err[256] = "";
    walk_script_t *s = walk_script_parse(text, checks, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(s->n, 2);
    CU_ASSERT_STRING_EQUAL(s->steps[0].title, "First step");
    CU_ASSERT_EQUAL(s->steps[0].pane, 1);
    CU_ASSERT_STRING_EQUAL(s->steps[0].action, "press p");
    CU_ASSERT_STRING_EQUAL(s->steps[0].check, "produced");
    CU_ASSERT_STRING_EQUAL(s->steps[0].body, "Line one\nline two.\n\nSecond paragraph.");
    CU_ASSERT_EQUAL(s->steps[0].line, 3);
    CU_ASSERT_STRING_EQUAL(s->steps[1].title, "Second");
    CU_ASSERT_EQUAL(s->steps[1].pane, 0);
    CU_ASSERT_STRING_EQUAL(s->steps[1].body, "");
    walk_script_free(s);
}

/* parse_error TEXT NEEDLE: the parse fails and the message contains NEEDLE. */
static void parse_error(const char *text, const char *needle)
{
    char err[256] = "";
    walk_script_t *s = walk_script_parse(text, checks, err, sizeof err);
    CU_ASSERT_PTR_NULL(s);
    if (!strstr(err, needle))
        printf("\n  error \"%s\" lacks \"%s\"\n", err, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    walk_script_free(s);
}

static void test_parse_rejects_malformed_files_with_the_line(void)
{
    parse_error("", "no steps");
    parse_error("hello\n=== A\npane: 1\naction: x\ncheck: none\n", "line 1: text before");
    parse_error("=== A\npane: 1\naction: x\ncheck: fly\n", "line 1: step \"A\": unknown check \"fly\"");
    parse_error("=== A\npane: 1\ncheck: none\n", "has no action");
    parse_error("=== A\naction: x\ncheck: none\n", "has no pane");
    parse_error("=== A\npane: 1\naction: x\n\nbody\n", "has no check");
    parse_error("=== A\npane: 7\naction: x\ncheck: none\n", "line 2: pane must be 0-6");
    parse_error("=== A\npane: one\naction: x\ncheck: none\n", "line 2: pane must be 0-6");
    parse_error("=== A\npane: 1\ncolour: red\n", "line 3: unknown field \"colour\"");
    parse_error("=== A\npane 1\n", "line 2: expected");
    parse_error("===\npane: 1\n", "line 1: a step needs a title");
    /* The second step's error is found too. */
    parse_error("=== A\npane: 1\naction: x\ncheck: none\n\n=== B\npane: 2\naction: y\n",
                "step \"B\" has no check");
}

static void test_wrap_breaks_at_spaces_and_keeps_paragraphs(void)
{
    char lines[10][256];
    int n = walk_wrap("the quick brown fox jumps", 10, lines, 10);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_STRING_EQUAL(lines[0], "the quick");
    CU_ASSERT_STRING_EQUAL(lines[1], "brown fox");
    CU_ASSERT_STRING_EQUAL(lines[2], "jumps");
    n = walk_wrap("one\ntwo\n\nthree", 20, lines, 10);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_STRING_EQUAL(lines[0], "one two");
    CU_ASSERT_STRING_EQUAL(lines[1], "");
    CU_ASSERT_STRING_EQUAL(lines[2], "three");
    n = walk_wrap("abcdefghijkl xy", 5, lines, 10);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_STRING_EQUAL(lines[0], "abcde");
    CU_ASSERT_STRING_EQUAL(lines[1], "fghij");
    CU_ASSERT_STRING_EQUAL(lines[2], "kl xy");
    /* Code points, not bytes: five ✓ fill a 5-column line. */
    n = walk_wrap("\xE2\x9C\x93\xE2\x9C\x93\xE2\x9C\x93 \xE2\x9C\x93", 5, lines, 10);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(lines[0], "\xE2\x9C\x93\xE2\x9C\x93\xE2\x9C\x93 \xE2\x9C\x93");
    /* More lines than room: the count says how many it needs, nothing overflows. */
    CU_ASSERT_EQUAL(walk_wrap("a b c d e f", 1, lines, 2), 6);
    CU_ASSERT_EQUAL(walk_wrap("", 10, lines, 10), 1);
}

static walk_script_t *shipped(void)
{
    char err[512] = "";
    walk_script_t *s = walk_script_load("assets/walkthrough.txt", walk_check_ids, err, sizeof err);
    if (!s)
        printf("\n  %s\n", err);
    return s;
}

static void test_shipped_steps_parse_and_fit_80x24(void)
{
    walk_script_t *s = shipped();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT(s->n >= 12);
    for (int i = 0; i < s->n; i++) {
        int rows = walk_rows_needed(&s->steps[i], WALK_BOX_TEXT_80x24);
        if (rows > WALK_BOX_ROWS_80x24)
            printf("\n  step %d \"%s\" needs %d rows of %d\n", i + 1, s->steps[i].title, rows,
                   WALK_BOX_ROWS_80x24);
        CU_ASSERT(rows <= WALK_BOX_ROWS_80x24);
        /* Every step but the last asks for something that a check can see. */
        if (i + 1 < s->n)
            CU_ASSERT(strcmp(s->steps[i].check, "none") != 0);
    }
    walk_script_free(s);
}

static void test_shipped_steps_cover_the_learning_objectives(void)
{
    walk_script_t *s = shipped();
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* The original README's objectives (Kafka, then Flink), by the check that shows each. */
    static const char *const needed[] = {"produced", "consumed", "topics", "partitions", "group",
                                         "inspect",  "video",    "map",    "filter",     "keyed",
                                         "window",   "sinks",    "late",   "upload"};
    for (size_t k = 0; k < sizeof needed / sizeof *needed; k++) {
        int found = 0;
        for (int i = 0; i < s->n; i++)
            found += !strcmp(s->steps[i].check, needed[k]);
        if (found != 1)
            printf("\n  check %s: %d steps\n", needed[k], found);
        CU_ASSERT_EQUAL(found, 1);
    }
    const walk_step_t *last = &s->steps[s->n - 1];
    CU_ASSERT_PTR_NOT_NULL(strstr(last->title, "exercises"));
    CU_ASSERT_PTR_NOT_NULL(strstr(last->body, "Beginner"));
    CU_ASSERT_PTR_NOT_NULL(strstr(last->body, "Intermediate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(last->body, "Advanced"));
    walk_script_free(s);
}

static void test_group_split_needs_two_members_holding_every_partition_once(void)
{
    groupdemo_snap_t g = {.nmembers = 1};
    g.m[0] = (groupdemo_member_t){.parts = {0, 1, 2}, .nparts = 3};
    CU_ASSERT_FALSE(groupdemo_split(&g, 3)); /* one member holds all */
    g.nmembers = 2;
    g.m[0] = (groupdemo_member_t){.parts = {0, 1}, .nparts = 2};
    g.m[1] = (groupdemo_member_t){.parts = {2}, .nparts = 1};
    CU_ASSERT_TRUE(groupdemo_split(&g, 3));
    g.m[1] = (groupdemo_member_t){.parts = {1, 2}, .nparts = 2};
    CU_ASSERT_FALSE(groupdemo_split(&g, 3)); /* partition 1 twice (mid-rebalance) */
    g.m[0] = (groupdemo_member_t){.parts = {0}, .nparts = 1};
    g.m[1] = (groupdemo_member_t){.nparts = 0};
    CU_ASSERT_FALSE(groupdemo_split(&g, 3)); /* the second has nothing yet */
}

static CU_TestInfo tests[] = {
    {"parse reads every field", test_parse_reads_every_field},
    {"parse rejects malformed files with the line", test_parse_rejects_malformed_files_with_the_line},
    {"wrap breaks at spaces and keeps paragraphs", test_wrap_breaks_at_spaces_and_keeps_paragraphs},
    {"shipped steps parse and fit 80x24", test_shipped_steps_parse_and_fit_80x24},
    {"shipped steps cover the learning objectives", test_shipped_steps_cover_the_learning_objectives},
    {"group split needs two members holding every partition once",
     test_group_split_needs_two_members_holding_every_partition_once},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("walkscript", tests, NULL, NULL)
