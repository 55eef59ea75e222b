/* test_pattern.c — the runtime's pattern operator (df_pattern, engine/dataflow.c):
 * complex event processing per key in event-time order.
 *
 * The graphs are small: records {"k": key, "id": name, "v": amount, "t": ms}
 * keyed by k, and the "card testing" shape the transaction pipeline uses:
 * stage 0 v < 20, stage 1 v > 800, within 60 s (unless a test says else).
 * Each match is written to topic "alerts" as {"key", "ids": "a+b", "last"}.
 * The watermark is driven by hand: out-of-orderness 0, so after a tick it is
 * the newest event time - 1 ms; "now" never comes from a clock. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/dataflow.h"
#include "engine/dataflow_exec.h"
#include "testlib.h"

#define T0 INT64_C(1705276800000) /* 2024-01-15 00:00 */
#define SEC INT64_C(1000)

/* --- the fake host: every emitted (topic, key, payload) in order ----------- */

typedef struct msg {
    char topic[64], key[64];
    json_t *json;
} msg_t;

static msg_t outs[2048];
static size_t nouts, nalerts; /* nalerts: every alert, kept or not */

static void host_emit(void *opaque, const char *topic, const char *key, size_t keylen,
                      char *payload, size_t len)
{
    (void)opaque;
    nalerts += !strcmp(topic, "alerts");
    if (nouts < sizeof outs / sizeof *outs) {
        msg_t *m = &outs[nouts++];
        snprintf(m->topic, sizeof m->topic, "%s", topic);
        snprintf(m->key, sizeof m->key, "%.*s", key ? (int)keylen : 0, key ? key : "");
        m->json = json_loadb(payload, len, 0, NULL);
    }
    free(payload);
}

static const df_host_t host = {.emit = host_emit};

static void outs_clear(void)
{
    for (size_t i = 0; i < nouts; i++)
        json_decref(outs[i].json);
    nouts = nalerts = 0;
}

/* The ids of every alert so far, "a+b" each, separated by spaces. */
static const char *alerts(void)
{
    static char buf[2048];
    buf[0] = '\0';
    for (size_t i = 0; i < nouts; i++) {
        if (strcmp(outs[i].topic, "alerts"))
            continue;
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof buf - l, "%s%s:%s", l ? " " : "", outs[i].key,
                 json_string_value(json_object_get(outs[i].json, "ids")));
    }
    return buf;
}

static bool alerts_are(const char *want)
{
    const char *got = alerts();
    if (strcmp(got, want))
        fprintf(stderr, "\n  alerts: got \"%s\", want \"%s\"\n", got, want);
    return !strcmp(got, want);
}

/* --- the graph -------------------------------------------------------------- */

static int parse(const char *buf, size_t len, json_t **value, int64_t *event_ms, char *err,
                 size_t errsize, void *ctx)
{
    (void)ctx;
    json_t *v = json_loadb(buf, len, 0, NULL);
    if (!json_is_object(v)) {
        snprintf(err, errsize, "bad record");
        json_decref(v);
        return -1;
    }
    *event_ms = json_integer_value(json_object_get(v, "t"));
    *value = v;
    return 0;
}

static json_t *key_k(const json_t *v, void *ctx)
{
    (void)ctx;
    return json_object_get(v, "k");
}

static int64_t within_ms = 60 * SEC;
static int stages_small = 1; /* the card-testing shape: how many small ones before the large */

static bool cond(int stage, const df_record_t *r, const df_record_t *const *prev, void *ctx)
{
    (void)prev, (void)ctx;
    double v = 0;
    df_record_number(r, "v", &v);
    return stage < stages_small ? v < 20 : v > 800;
}

static int64_t within(void *ctx)
{
    (void)ctx;
    return within_ms;
}

static json_t *result(const json_t *key, const df_record_t *const *m, void *ctx)
{
    (void)ctx;
    char ids[256] = "";
    for (int i = 0; i <= stages_small; i++) {
        size_t len = 0;
        const char *id = df_record_string(m[i], "id", &len);
        size_t l = strlen(ids);
        snprintf(ids + l, sizeof ids - l, "%s%.*s", i ? "+" : "", (int)len, id ? id : "?");
    }
    return json_pack("{sOsssI}", "key", key, "ids", ids, "last", (json_int_t)m[stages_small]->event_ms);
}

static df_pattern_t pattern = {.nstages = 2, .cond = cond, .within = within, .result = result};

static df_graph_t *g;
static df_stream_t *pat;

/* The input as pushed (partition 0, offset = index), for a restore to read again. */
static char input[64][256];
static size_t ninput, noffsets;

static df_graph_t *graph(void)
{
    df_graph_t *x = df_graph_new("cep", &host);
    df_graph_set_time(x, 0, INT64_C(1) << 40); /* bound 0, never idle */
    df_stream_t *k = df_key_by(df_source(x, "in", "in.dlq", parse, NULL), "key_by:k", key_k, NULL);
    pat = df_pattern(k, "pattern:card", &pattern, NULL);
    df_sink_topic(pat, "alerts", NULL);
    return x;
}

static int setup(void)
{
    ninput = noffsets = 0;
    within_ms = 60 * SEC;
    stages_small = 1;
    pattern.nstages = 2;
    outs_clear();
    g = graph();
    return 0;
}

static int teardown(void)
{
    df_graph_free(g);
    g = NULL;
    outs_clear();
    return 0;
}

static void fresh(void)
{
    teardown();
    setup();
}

static int64_t now_ms;

/* Pushes {"k", "id", "v", "t": T0 + t_ms}; tick: then move the watermark. */
static void rec(const char *k, const char *id, double v, int64_t t_ms, bool tick)
{
    char buf[256];
    snprintf(buf, sizeof buf, "{\"k\":\"%s\",\"id\":\"%s\",\"v\":%g,\"t\":%lld}", k, id, v,
             (long long)(T0 + t_ms));
    int64_t offset = (int64_t)noffsets++;
    if (ninput < sizeof input / sizeof *input)
        snprintf(input[ninput++], sizeof *input, "%s", buf);
    CU_ASSERT_FATAL(df_graph_push(g, "in", 0, offset, buf, strlen(buf), ++now_ms));
    if (tick)
        df_graph_tick(g, now_ms);
}

static df_graph_t *route_to_g(void *opaque, const char *key)
{
    (void)opaque, (void)key;
    return g;
}

static uint64_t late_count(void)
{
    df_op_metrics_t m[16];
    size_t n = df_graph_metrics(g, m, 16);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(m[i].name, "pattern:card"))
            return m[i].late;
    return UINT64_MAX;
}

/* --- tests ------------------------------------------------------------------ */

static void test_pattern_matches_small_then_large_only_when_the_watermark_passes_the_large(void)
{
    fresh();
    rec("u1", "a", 5, 10 * SEC, true);
    rec("u1", "b", 900, 20 * SEC, true); /* watermark 20 s - 1 ms: b still held */
    CU_ASSERT(alerts_are(""));
    CU_ASSERT_EQUAL(df_pattern_held(pat), 1);
    rec("u2", "x", 50, 20 * SEC + 1, true);
    CU_ASSERT(alerts_are("u1:a+b"));
    CU_ASSERT_EQUAL_FATAL(nouts, 1);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(outs[0].json, "last")), T0 + 20 * SEC);
    CU_ASSERT_STRING_EQUAL(outs[0].key, "u1");
}

static void test_pattern_takes_each_keys_records_in_event_time_order_not_arrival(void)
{
    fresh();
    /* arrival: b (large, 20 s) before a (small, 10 s); both wait for the watermark */
    rec("u1", "b", 900, 20 * SEC, false);
    rec("u1", "a", 5, 10 * SEC, false);
    /* and the other way round for u2: large at 10 s, small at 20 s: no match */
    rec("u2", "c", 5, 20 * SEC, false);
    rec("u2", "d", 900, 10 * SEC, false);
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u1:a+b"));
}

static void test_pattern_takes_ties_in_event_time_in_input_order(void)
{
    fresh();
    rec("u1", "a", 5, 10 * SEC, false);
    rec("u1", "b", 900, 10 * SEC, false); /* same time, after a: a then b */
    rec("u2", "c", 900, 10 * SEC, false);
    rec("u2", "d", 5, 10 * SEC, false); /* same time, the large first: no match */
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u1:a+b"));
}

static void test_pattern_counts_records_behind_the_watermark_as_late_and_does_not_match_them(void)
{
    fresh();
    rec("u1", "a", 5, 10 * SEC, true);
    rec("u9", "w", 50, 30 * SEC, true); /* watermark 30 s - 1 ms */
    rec("u1", "b", 900, 25 * SEC, true); /* behind it: late */
    rec("u1", "c", 900, 30 * SEC - 1, true); /* at it: late too */
    CU_ASSERT_EQUAL(late_count(), 2);
    df_graph_finish(g);
    CU_ASSERT(alerts_are(""));
    CU_ASSERT_EQUAL(df_graph_late_count(g), 0); /* the graph's: windows' late records only */
}

static void test_pattern_bound_is_inclusive_and_a_pair_past_it_does_not_match(void)
{
    fresh();
    rec("u1", "a", 5, 0, false);
    rec("u1", "b", 900, 60 * SEC, false); /* exactly 60 s: matches */
    rec("u2", "c", 5, 0, false);
    rec("u2", "d", 900, 60 * SEC + 1, false); /* 60.001 s: does not */
    rec("u3", "e", 5, 0, false);
    rec("u3", "f", 900, 61 * SEC, false);
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u1:a+b"));
}

static void test_pattern_bound_is_read_when_records_are_taken(void)
{
    fresh();
    within_ms = 30 * SEC;
    rec("u1", "a", 5, 0, true);
    rec("u1", "b", 900, 45 * SEC, true); /* 45 s: past 30 s */
    rec("u2", "c", 5, 50 * SEC, true);
    rec("u2", "d", 900, 90 * SEC, false); /* 40 s: past 30 s ... */
    within_ms = 60 * SEC;                /* ... but the bound grows before d is taken */
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u2:c+d"));
}

static void test_pattern_needs_the_very_next_record_of_the_key(void)
{
    fresh();
    rec("u1", "a", 5, 0, false);
    rec("u1", "m", 100, 1 * SEC, false); /* in between: breaks a..b */
    rec("u1", "b", 900, 2 * SEC, false);
    rec("u2", "c", 5, 0, false);
    rec("u3", "z", 100, 1 * SEC, false); /* another key's record does not */
    rec("u2", "d", 900, 2 * SEC, false);
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u2:c+d"));
}

static void test_pattern_starts_again_after_the_last_record_of_a_match(void)
{
    fresh();
    /* small, small, large: the second small and the large */
    rec("u1", "a1", 5, 0, false);
    rec("u1", "a2", 6, 1 * SEC, false);
    rec("u1", "b1", 900, 2 * SEC, false);
    /* after a match: a large alone does not match, a new pair does */
    rec("u1", "b2", 900, 3 * SEC, false);
    rec("u1", "a3", 7, 4 * SEC, false);
    rec("u1", "b3", 950, 5 * SEC, false);
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u1:a2+b1 u1:a3+b3"));
}

static void test_pattern_of_three_stages_keeps_overlapping_partial_matches(void)
{
    fresh();
    stages_small = 2;
    pattern.nstages = 3; /* small, small, large */
    df_graph_free(g);
    g = graph();
    rec("u1", "a1", 5, 0, false);
    rec("u1", "a2", 6, 1 * SEC, false);
    rec("u1", "a3", 7, 2 * SEC, false);
    rec("u1", "b", 900, 3 * SEC, false); /* a1 a2 a3 b: a2+a3+b */
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u1:a2+a3+b"));
}

static void test_pattern_forgets_a_key_once_its_partial_match_is_past_the_bound(void)
{
    fresh();
    rec("u1", "a", 5, 0, true);
    rec("u2", "x", 50, 1 * SEC, true);
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 2); /* u1 waits for a large one, x for the watermark */
    rec("u3", "y", 50, 62 * SEC, true);
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 1); /* u1 forgotten; y waits for the watermark */
    CU_ASSERT_EQUAL(df_pattern_held(pat), 1);
    rec("u1", "b", 900, 62 * SEC + 1, true);
    rec("u3", "z", 50, 63 * SEC, true);
    CU_ASSERT(alerts_are(""));
    df_graph_finish(g);
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 0);
    CU_ASSERT_EQUAL(df_pattern_held(pat), 0);
}

/* Enough keys to grow the key table several times (ASan checks the slots). */
static void test_pattern_keeps_every_key_apart_across_many_keys(void)
{
    fresh();
    char k[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "u%d", i);
        rec(k, "a", 5, i, false);
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof k, "u%d", i);
        rec(k, "b", i % 2 ? 900 : 100, 10 * SEC + i, false);
    }
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 2000);
    CU_ASSERT_EQUAL(df_pattern_held(pat), 4000);
    df_graph_finish(g);
    CU_ASSERT_EQUAL(nalerts, 1000); /* the odd ones */
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 0);
}


/* An endless stream of new keys: keys left with nothing are swept (past 4096 of
 * them), and a swept key that comes back starts afresh. */
static void test_pattern_sweeps_keys_left_with_nothing_and_takes_them_back(void)
{
    fresh();
    char k[32];
    for (int i = 0; i < 12000; i++) { /* each key once, the watermark right behind */
        snprintf(k, sizeof k, "n%d", i);
        rec(k, "x", 100, i * 10, true);
    }
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 1); /* the last one is held */
    rec("n5", "a", 5, 200000, true);          /* an early key, swept since */
    rec("n5", "b", 900, 201000, false);
    df_graph_finish(g);
    CU_ASSERT(alerts_are("n5:a+b"));
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 0);
}


/* Records in random disorder within the bound (some in order, some not, ties
 * included), ticked as they come: the alerts are those of the same records
 * sorted by (key, time, input order) and scanned pair by pair. */
static void test_pattern_matches_what_a_sorted_scan_finds_on_a_shuffled_stream(void)
{
    fresh();
    enum { N = 3000, KEYS = 7 };
    static struct { int key; int64_t t; double v; int idx; } r[N];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        r[i].key = (int)(x % KEYS);
        r[i].t = i * 100 - (int64_t)((x >> 8) % 4000); /* up to 4 s behind: inside 5 s */
        r[i].t -= r[i].t % 50;                          /* ties */
        int kind = (int)((x >> 20) % 10);
        r[i].v = kind < 3 ? 5 : kind < 6 ? 900 : 100;
        r[i].idx = i;
    }
    df_graph_set_time(g, 5000, INT64_C(1) << 40);
    for (int i = 0; i < N; i++) {
        char k[8], id[16];
        snprintf(k, sizeof k, "k%d", r[i].key);
        snprintf(id, sizeof id, "r%d", i);
        rec(k, id, r[i].v, r[i].t, true);
    }
    df_graph_finish(g);
    CU_ASSERT_EQUAL(late_count(), 0);
    /* the reference: per key, sorted by (time, input order); within 60 s always holds */
    static char want[65536];
    want[0] = '\0';
    int nwant = 0;
    typedef struct { int64_t t; int idx; double v; } e_t;
    static e_t per[KEYS][N];
    int nper[KEYS] = {0};
    for (int i = 0; i < N; i++)
        per[r[i].key][nper[r[i].key]++] = (e_t){r[i].t, r[i].idx, r[i].v};
    for (int k = 0; k < KEYS; k++) {
        for (int a = 1; a < nper[k]; a++) /* insertion sort: stable */
            for (int b = a; b > 0 && per[k][b - 1].t > per[k][b].t; b--) {
                e_t tmp = per[k][b];
                per[k][b] = per[k][b - 1];
                per[k][b - 1] = tmp;
            }
    }
    /* alerts come out in the order of their last record's time, then key: compare sets */
    int got = 0;
    for (size_t i = 0; i < nouts; i++)
        got += !strcmp(outs[i].topic, "alerts");
    for (int k = 0; k < KEYS; k++)
        for (int a = 0; a + 1 < nper[k]; a++)
            if (per[k][a].v < 20 && per[k][a + 1].v > 800) {
                char one[64];
                snprintf(one, sizeof one, "k%d:r%d+r%d", k, per[k][a].idx, per[k][a + 1].idx);
                bool found = false;
                for (size_t i = 0; i < nouts && !found; i++) {
                    char g1[64];
                    snprintf(g1, sizeof g1, "%s:%s", outs[i].key,
                             json_string_value(json_object_get(outs[i].json, "ids")));
                    found = !strcmp(g1, one);
                }
                if (!found && strlen(want) + 70 < sizeof want)
                    strcat(strcat(want, one), " ");
                nwant++;
                a++; /* skip past last row */
            }
    if (want[0])
        fprintf(stderr, "\n  missing: %.300s\n", want);
    CU_ASSERT_STRING_EQUAL(want, "");
    CU_ASSERT_EQUAL(nalerts, (size_t)nwant);
    CU_ASSERT(nwant > 100);
    CU_ASSERT_EQUAL(got, nwant);
}

/* --- state: changelog and restore ------------------------------------------- */

typedef struct piece {
    int32_t partition;
    char op[64], key[64], sub[32];
    json_t *value;
} piece_t;

static piece_t pieces[256];
static size_t npieces;

static void collect(void *opaque, const char *topic, int32_t partition, const char *op,
                    const char *key, const char *sub, json_t *value)
{
    (void)opaque, (void)topic;
    if (npieces == sizeof pieces / sizeof *pieces)
        return;
    piece_t *p = &pieces[npieces++];
    p->partition = partition;
    snprintf(p->op, sizeof p->op, "%s", op);
    snprintf(p->key, sizeof p->key, "%s", key);
    snprintf(p->sub, sizeof p->sub, "%s", sub);
    p->value = json_incref(value);
}

static void min_from(void *opaque, const char *topic, int32_t partition, int64_t from)
{
    (void)topic, (void)partition;
    int64_t *m = opaque;
    if (from < *m)
        *m = from;
}

static void pieces_clear(void)
{
    for (size_t i = 0; i < npieces; i++)
        json_decref(pieces[i].value);
    npieces = 0;
}

/* The crash: a new graph, the collected pieces loaded into it. */
static void restart_from_pieces(void)
{
    df_graph_free(g);
    outs_clear();
    g = graph();
    for (size_t i = 0; i < npieces; i++)
        CU_ASSERT_EQUAL(df_graph_state_load(g, pieces[i].partition, pieces[i].op, pieces[i].key,
                                            pieces[i].sub, pieces[i].value), 0);
    pieces_clear();
}

/* What the host does after a restore: the input again from `from` up to the
 * committed offset, then the end of the replay. */
static void read_again(int64_t from, size_t committed)
{
    for (size_t o = (size_t)from; o < committed; o++)
        df_graph_replay(g, "in", 0, (int64_t)o, input[o], strlen(input[o]), route_to_g, NULL);
    df_graph_replay_done(g);
}

/* The same records, in one run and in two with a restore between, give the
 * same alerts: partial matches come back from the changelog, held records
 * from the input read again (from the oldest held one's offset: only those
 * after the saved watermark are held again). */
static void test_pattern_state_saved_and_loaded_gives_the_same_matches(void)
{
    fresh();
    df_graph_track_state(g, true);
    rec("u1", "a", 5, 0, false);
    rec("u4", "f", 3, 1 * SEC, false);
    rec("u9", "w", 50, 6 * SEC, true);   /* watermark 6 s - 1 ms: a, f begin partial matches */
    rec("u2", "c", 900, 8 * SEC, false); /* held */
    rec("u2", "d", 10, 7 * SEC, false);  /* held, before c in event time */
    rec("u3", "e", 3, 9 * SEC, false);   /* held */
    CU_ASSERT_EQUAL(df_pattern_held(pat), 4); /* w, c, d, e */
    CU_ASSERT(alerts_are(""));
    pieces_clear();
    df_graph_state_drain(g, collect, NULL);
    /* a second drain after changes gives the newer pieces; load them all in order */
    rec("u4", "g", 50, 6 * SEC + 500, false); /* breaks u4's partial (f) */
    df_graph_state_drain(g, collect, NULL);
    CU_ASSERT(npieces >= 6);
    size_t committed = noffsets; /* the input offsets the state covers */
    /* the changelog holds no held record (each would be written at every checkpoint) */
    json_t *held_from = NULL;
    for (size_t i = 0; i < npieces; i++) {
        CU_ASSERT_PTR_NULL(json_object_get(pieces[i].value, "held"));
        if (!strcmp(pieces[i].key, "u2"))
            held_from = json_object_get(pieces[i].value, "held_from");
    }
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(held_from, "0")), 3); /* c, at offset 3 */
    /* the crash: a new graph, the pieces back */
    restart_from_pieces();
    CU_ASSERT_EQUAL(df_pattern_held(pat), 0); /* not yet: they come from the input */
    /* the host reads the input again over the ranges the state names, up to the committed offset */
    int64_t from = INT64_MAX;
    df_graph_replay_ranges(g, min_from, &from);
    CU_ASSERT_EQUAL(from, 2); /* w, u9's held record */
    read_again(from, committed);
    CU_ASSERT_EQUAL(df_pattern_held(pat), 5); /* w, c, d, e, g */
    CU_ASSERT(alerts_are("")); /* a replay emits nothing */
    CU_ASSERT_EQUAL(df_graph_watermark(g), T0 + 6 * SEC - 1);
    rec("u1", "b", 850, 30 * SEC, false); /* completes u1's restored partial */
    rec("u3", "h", 990, 40 * SEC, false); /* completes e (held across the restore) */
    rec("u4", "i", 990, 7 * SEC, false);  /* after g: no match */
    rec("u2", "z", 990, 1 * SEC, false);  /* behind the restored watermark: late */
    df_graph_finish(g);
    CU_ASSERT(alerts_are("u2:d+c u1:a+b u3:e+h"));
    CU_ASSERT_EQUAL(late_count(), 1);
    CU_ASSERT_EQUAL(df_pattern_keys(pat), 0);
}

/* A record taken before the save (its time at or before the saved watermark)
 * is not held again when the input is read again, though its offset comes
 * after the oldest held record's. */
static void test_pattern_restore_holds_again_only_what_was_held(void)
{
    fresh();
    df_graph_track_state(g, true);
    rec("u5", "p", 500, 12 * SEC, false); /* offset 0: held */
    rec("u5", "q", 10, 11 * SEC, true);   /* offset 1: taken (watermark 12 s - 1 ms) */
    CU_ASSERT_EQUAL(df_pattern_held(pat), 1);
    pieces_clear();
    df_graph_state_drain(g, collect, NULL);
    size_t committed = noffsets;
    restart_from_pieces();
    int64_t from = INT64_MAX;
    df_graph_replay_ranges(g, min_from, &from);
    CU_ASSERT_EQUAL(from, 0);
    read_again(from, committed);
    CU_ASSERT_EQUAL(df_pattern_held(pat), 1); /* p; q was taken */
    rec("u5", "r", 950, 12 * SEC + 500, false); /* q p r: p breaks q's partial match */
    df_graph_finish(g);
    CU_ASSERT(alerts_are(""));
}

static void test_pattern_state_is_a_tombstone_once_a_key_has_none(void)
{
    fresh();
    df_graph_track_state(g, true);
    rec("u1", "a", 5, 0, true);
    rec("u1", "b", 900, 1 * SEC, true);
    pieces_clear();
    df_graph_state_drain(g, collect, NULL);
    rec("u2", "x", 50, 2 * SEC, true); /* b taken: a match, u1 has nothing left */
    CU_ASSERT(alerts_are("u1:a+b"));
    pieces_clear();
    df_graph_state_drain(g, collect, NULL);
    bool tomb = false;
    for (size_t i = 0; i < npieces; i++)
        if (!strcmp(pieces[i].op, "pattern:card") && !strcmp(pieces[i].key, "u1"))
            tomb = pieces[i].value == NULL;
    CU_ASSERT(tomb);
    pieces_clear();
}

static CU_TestInfo tests[] = {
    {"test_pattern_matches_small_then_large_only_when_the_watermark_passes_the_large",
     test_pattern_matches_small_then_large_only_when_the_watermark_passes_the_large},
    {"test_pattern_takes_each_keys_records_in_event_time_order_not_arrival",
     test_pattern_takes_each_keys_records_in_event_time_order_not_arrival},
    {"test_pattern_takes_ties_in_event_time_in_input_order",
     test_pattern_takes_ties_in_event_time_in_input_order},
    {"test_pattern_counts_records_behind_the_watermark_as_late_and_does_not_match_them",
     test_pattern_counts_records_behind_the_watermark_as_late_and_does_not_match_them},
    {"test_pattern_bound_is_inclusive_and_a_pair_past_it_does_not_match",
     test_pattern_bound_is_inclusive_and_a_pair_past_it_does_not_match},
    {"test_pattern_bound_is_read_when_records_are_taken",
     test_pattern_bound_is_read_when_records_are_taken},
    {"test_pattern_needs_the_very_next_record_of_the_key",
     test_pattern_needs_the_very_next_record_of_the_key},
    {"test_pattern_starts_again_after_the_last_record_of_a_match",
     test_pattern_starts_again_after_the_last_record_of_a_match},
    {"test_pattern_of_three_stages_keeps_overlapping_partial_matches",
     test_pattern_of_three_stages_keeps_overlapping_partial_matches},
    {"test_pattern_forgets_a_key_once_its_partial_match_is_past_the_bound",
     test_pattern_forgets_a_key_once_its_partial_match_is_past_the_bound},
    {"test_pattern_keeps_every_key_apart_across_many_keys",
     test_pattern_keeps_every_key_apart_across_many_keys},
    {"test_pattern_sweeps_keys_left_with_nothing_and_takes_them_back",
     test_pattern_sweeps_keys_left_with_nothing_and_takes_them_back},
    {"test_pattern_matches_what_a_sorted_scan_finds_on_a_shuffled_stream",
     test_pattern_matches_what_a_sorted_scan_finds_on_a_shuffled_stream},
    {"test_pattern_state_saved_and_loaded_gives_the_same_matches",
     test_pattern_state_saved_and_loaded_gives_the_same_matches},
    {"test_pattern_restore_holds_again_only_what_was_held",
     test_pattern_restore_holds_again_only_what_was_held},
    {"test_pattern_state_is_a_tombstone_once_a_key_has_none",
     test_pattern_state_is_a_tombstone_once_a_key_has_none},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("pattern", tests, setup, teardown)
