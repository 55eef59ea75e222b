/* walkthrough.c — see walkthrough.h.  The checks below each read the frame's
 * copies in app_t (session status, view snapshot, video snapshot) or the
 * demo group's and the inspector's snapshots, compared with a baseline taken
 * when the step was entered. */
#include <errno.h>
#include "tui/walkthrough.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/kafka/groupdemo.h"
#include "engine/util.h"
#include "tui/assets.h"
#include "tui/format.h"
#include "tui/inspector.h"
#include "tui/walkscript.h"

/* What the checks compare against: the state when the step was entered. */
typedef struct baseline {
    uint64_t delivered, input, late, fired, video, files, map_out, alerts;
    int64_t late_topic;
    double filter;
    uint64_t dropped; /* filter:amount's drops */
} baseline_t;

struct walkthrough {
    walk_script_t *script;
    int cur;
    bool visible;
    bool *done;      /* per step: its ✓ has been seen */
    baseline_t base; /* of the current step */
    /* The filter step: the threshold last seen and the drop count then. */
    double filter_seen;
    uint64_t dropped_at_change;
    bool filter_changed;
    char figure[2][256]; /* the current step's live figure */
    bool skip_armed; /* n on a step not done: the next n skips it */
    bool asking;     /* w on a tour begun: resume or start again? */
};

const char *const walk_check_ids[] = {"topics", "produced", "consumed", "partitions", "inspect",
                                      "map",    "filter",   "keyed",    "sinks",      "window",
                                      "late",   "group",    "video",    "upload",     "none",
                                      "fraud",  NULL};

/* --- reading the state ------------------------------------------------------- */

static const df_op_metrics_t *op(const app_t *a, const char *name)
{
    for (int i = 0; i < a->st.nops; i++)
        if (!strcmp(a->st.ops[i].name, name))
            return &a->st.ops[i];
    return NULL;
}

/* Sum of a topic's end offsets in the status's topic list; -1 if not listed. */
static int64_t topic_end(const app_t *a, const char *topic, int *nparts)
{
    size_t i, j;
    json_t *t, *p;
    json_array_foreach(a->st.topics, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "topic"));
        if (!name || strcmp(name, topic))
            continue;
        int64_t sum = 0;
        json_t *parts = json_object_get(t, "partitions");
        json_array_foreach(parts, j, p)
            sum += json_integer_value(json_object_get(p, "end"));
        if (nparts)
            *nparts = (int)json_array_size(parts);
        return sum;
    }
    return -1;
}

static uint64_t filter_dropped(const app_t *a)
{
    const df_op_metrics_t *m = op(a, "filter:amount");
    return m && m->in > m->out ? m->in - m->out : 0;
}

static void take_baseline(walkthrough_t *w, app_t *a)
{
    baseline_t *b = &w->base;
    const df_op_metrics_t *m = op(a, "map:discount");
    *b = (baseline_t){.delivered = a->st.delivered,
                      .input = a->st.input,
                      .late = a->st.late,
                      .fired = a->view->windows_fired,
                      .alerts = a->view->alerts_total,
                      .video = a->video.processed,
                      .files = session_files_processed(a->session),
                      .map_out = m ? m->out : 0,
                      .late_topic = topic_end(a, "late_transactions", NULL),
                      .filter = a->st.filter_amount,
                      .dropped = filter_dropped(a)};
    w->filter_seen = a->st.filter_amount;
    w->filter_changed = false;
}

/* The filter step asks for this threshold (assets/walkthrough.txt). */
#define WALK_FILTER_ASKED 500.0

#define FIG(i, ...) snprintf(w->figure[i], sizeof w->figure[i], __VA_ARGS__)

/* Evaluates a check and writes the step's live figure. */
static bool check(walkthrough_t *w, app_t *a, const char *id)
{
    const session_status_t *st = &a->st;
    const view_snapshot_t *v = a->view;
    const baseline_t *b = &w->base;
    char c1[16], c2[16], c3[16];
    w->figure[0][0] = w->figure[1][0] = '\0';
    if (!strcmp(id, "topics")) {
        int n = 0, nparts = 0;
        n = (int)json_array_size(st->topics);
        int with = 0; /* pane 6 lists only the topics that hold records */
        size_t i, j;
        json_t *t, *p;
        json_array_foreach(st->topics, i, t)
        {
            int64_t e = 0;
            json_array_foreach(json_object_get(t, "partitions"), j, p)
                e += json_integer_value(json_object_get(p, "end"));
            with += e > 0;
        }
        int64_t end = topic_end(a, "transactions", &nparts);
        FIG(0, "%d topics, %d with records (pane 6)", n, with);
        FIG(1, "transactions: %d partitions", end >= 0 ? nparts : 0);
        return end >= 0 && nparts == 3;
    }
    if (!strcmp(id, "produced")) {
        FIG(0, "producer %s: sent %s", st->producer_on ? "ON" : "off",
            fmt_count((double)st->produced, c1, sizeof c1));
        FIG(1, "acknowledged by the broker: %s", fmt_count((double)st->delivered, c2, sizeof c2));
        return st->delivered > b->delivered;
    }
    if (!strcmp(id, "consumed")) {
        FIG(0, "engine read %s since this step",
            fmt_count((double)(st->input - b->input), c1, sizeof c1));
        if (st->lag)
            FIG(1, "group streamlab-console lag %lld",
                (long long)json_integer_value(json_object_get(st->lag, "lag")));
        return st->input > b->input && st->lag;
    }
    if (!strcmp(id, "partitions")) {
        /* As many partitions as `transactions` has (3 on the embedded broker). */
        int nparts = 3, per[16] = {0};
        topic_end(a, "transactions", &nparts);
        if (nparts < 1 || nparts > 16)
            nparts = nparts < 1 ? 3 : 16;
        for (int i = 0; i < v->nfeed; i++)
            if (v->feed[i].partition >= 0 && v->feed[i].partition < nparts)
                per[v->feed[i].partition]++;
        char line[256] = "feed by partition:";
        bool all = true;
        for (int p = 0; p < nparts; p++) {
            snprintf(line + strlen(line), sizeof line - strlen(line), " %d:%d", p, per[p]);
            all &= per[p] > 0;
        }
        FIG(0, "%.200s", line);
        /* One user, several records, one partition: the key decides. */
        for (int i = 0; i < v->nfeed; i++)
            for (int j = i + 1; j < v->nfeed; j++)
                if (!strcmp(v->feed[i].user, v->feed[j].user)) {
                    FIG(1, "%s: partition %d, again %d", v->feed[i].user, v->feed[i].partition,
                        v->feed[j].partition);
                    i = v->nfeed;
                    break;
                }
        return all;
    }
    if (!strcmp(id, "inspect")) {
        bool ok = a->insp && inspector_shown_json(a->insp, "transactions");
        FIG(0, "%s", ok ? "a transaction, decoded from JSON" : "no transaction opened yet");
        return ok;
    }
    if (!strcmp(id, "map")) {
        const df_op_metrics_t *m = op(a, "map:discount");
        uint64_t out = m ? m->out : 0;
        FIG(0, "map:discount in %s out %s", fmt_count(m ? (double)m->in : 0, c1, sizeof c1),
            fmt_count((double)out, c2, sizeof c2));
        int64_t pt = topic_end(a, "processed_transactions", NULL);
        FIG(1, "processed_transactions: %lld records", (long long)(pt > 0 ? pt : 0));
        return out > b->map_out && pt > 0;
    }
    if (!strcmp(id, "filter")) {
        uint64_t dropped = filter_dropped(a);
        if (st->filter_amount != w->filter_seen) {
            w->filter_seen = st->filter_amount;
            w->dropped_at_change = dropped;
            w->filter_changed = true;
        }
        FIG(0, "threshold %.2f -> %.2f", b->filter, st->filter_amount);
        FIG(1, "dropped since the change: %s",
            fmt_count(w->filter_changed ? (double)(dropped - w->dropped_at_change) : 0, c3,
                      sizeof c3));
        (void)c1, (void)c2;
        /* Done once the threshold is raised and records are dropped under it;
         * one already at 500 or above when the step began counts as raised
         * (the step asks for 500: it is there already). */
        if (!w->filter_changed && st->filter_amount >= WALK_FILTER_ASKED) {
            FIG(0, "threshold %.2f (already at least %.0f)", st->filter_amount, WALK_FILTER_ASKED);
            FIG(1, "dropped since this step: %s", fmt_count((double)(dropped - b->dropped), c3,
                                                              sizeof c3));
            return dropped >= b->dropped + 10;
        }
        return w->filter_changed && st->filter_amount > b->filter &&
               dropped >= w->dropped_at_change + 10;
    }
    if (!strcmp(id, "keyed")) {
        const view_user_t *best = NULL;
        for (int i = 0; i < v->nusers; i++)
            if (!best || v->users[i].count > best->count)
                best = &v->users[i];
        FIG(0, "%d users with running totals", v->users_total);
        if (best)
            FIG(1, "%s: %lld purchases, %s", best->user, (long long)best->count,
                fmt_money(best->total_cents, c1, sizeof c1));
        return best && best->count >= 2;
    }
    if (!strcmp(id, "sinks")) {
        static const char *const outs[] = {"processed_transactions", "high_value_transactions",
                                           "user_aggregations", "category_windows"};
        int filled = 0;
        char line[256] = "";
        for (int i = 0; i < 4; i++) {
            int64_t e = topic_end(a, outs[i], NULL);
            filled += e > 0;
            snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "",
                     fmt_count(e > 0 ? (double)e : 0, c1, sizeof c1));
        }
        FIG(0, "%d of 4 output topics have records", filled);
        FIG(1, "records: %.200s", line);
        return filled == 4;
    }
    if (!strcmp(id, "window")) {
        int64_t wm = st->watermark_ms;
        bool has_wm = wm != DF_NO_TIME && wm < (int64_t)4e15 && wm > 0;
        int64_t first_end = 0;
        for (int i = 0; i < v->nopen; i++)
            if (!first_end || v->open[i].end_ms < first_end)
                first_end = v->open[i].end_ms;
        FIG(0, "watermark %s, window ends %s",
            has_wm ? fmt_clock(wm, c1, sizeof c1) : "--:--:--",
            first_end ? fmt_clock(first_end, c2, sizeof c2) : "--:--:--");
        FIG(1, "windows fired: %llu", (unsigned long long)v->windows_fired);
        return v->windows_fired > b->fired;
    }
    if (!strcmp(id, "late")) {
        int64_t lt = topic_end(a, "late_transactions", NULL);
        double lf = session_late_fraction(a->session);
        FIG(0, "late events %s; late counter %s", lf > 0 ? "ON (20%)" : "off",
            fmt_count((double)st->late, c1, sizeof c1));
        FIG(1, "late_transactions: %lld records", (long long)(lt > 0 ? lt : 0));
        return st->late > b->late && lt > (b->late_topic > 0 ? b->late_topic : 0);
    }
    if (!strcmp(id, "fraud")) {
        double ff = session_fraud_fraction(a->session);
        FIG(0, "card testing %s; alerts %s since this step", ff > 0 ? "ON (2%)" : "off",
            fmt_count((double)(v->alerts_total - b->alerts), c1, sizeof c1));
        if (v->nalerts > 0)
            FIG(1, "%s: %s then %s", v->alerts[0].user,
                fmt_money(v->alerts[0].first_cents, c2, sizeof c2),
                fmt_money(v->alerts[0].second_cents, c3, sizeof c3));
        return v->alerts_total > b->alerts;
    }
    if (!strcmp(id, "group")) {
        if (!a->group) {
            FIG(0, "starting the group's first consumer...");
            return false;
        }
        groupdemo_snap_t g;
        groupdemo_snapshot(a->group, &g);
        char line[2][256] = {"", ""};
        for (int i = 0; i < g.nmembers; i++) {
            char *l = line[i / 2];
            snprintf(l + strlen(l), 256 - strlen(l), "%sC%d:[", i % 2 ? "  " : "", i + 1);
            for (int j = 0; j < g.m[i].nparts; j++)
                snprintf(l + strlen(l), 256 - strlen(l), "%s%d", j ? "," : "", g.m[i].parts[j]);
            snprintf(l + strlen(l), 256 - strlen(l), "] %s",
                     fmt_count((double)g.m[i].consumed, c1, sizeof c1));
        }
        FIG(0, "%d member%s: %.200s", g.nmembers, g.nmembers == 1 ? "" : "s", line[0]);
        FIG(1, "%s", g.error[0] && !line[1][0] ? g.error : line[1]);
        int nparts = 3;
        topic_end(a, "transactions", &nparts);
        return groupdemo_split(&g, nparts > 0 ? nparts : 3);
    }
    if (!strcmp(id, "video")) {
        FIG(0, "frames processed %s since this step",
            fmt_count((double)(a->video.processed - b->video), c1, sizeof c1));
        FIG(1, "video producer %s", st->video_on ? "ON" : "off");
        return a->video.processed > b->video;
    }
    if (!strcmp(id, "upload")) {
        uint64_t n = session_files_processed(a->session);
        FIG(0, "processed_files: %llu records", (unsigned long long)n);
        return n > b->files;
    }
    return true; /* "none" */
}

/* --- the steps ------------------------------------------------------------------ */

/* The upload step's sample file: one per console ($TMPDIR or /tmp, with the
 * process id), so that two walkthroughs at once never write the same file.
 * The step's text names it ({sample}). */
static const char *sample_path(void)
{
    static char path[512];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/streamlab-sample-%d.txt", dir && *dir ? dir : "/tmp",
                 (int)getpid());
    }
    return path;
}

static bool sample_written; /* remove it when the walkthrough goes */

static void write_sample(app_t *a)
{
    char part[600];
    snprintf(part, sizeof part, "%s.part", sample_path());
    FILE *f = fopen(part, "w");
    if (!f) {
        snprintf(a->message, sizeof a->message, "cannot write %.300s: %s", part, strerror(errno));
        return;
    }
    static const char *const words[] = {"stream", "kafka", "flink", "window", "watermark",
                                        "partition", "offset", "record", "key", "state"};
    size_t n = 0;
    for (int i = 0; n < 1536 * 1024; i++)
        n += (size_t)fprintf(f, "%s%s", words[i % 10], i % 12 == 11 ? "\n" : " ");
    if (fclose(f) == 0)
        sample_written = rename(part, sample_path()) == 0;
}

static void enter(walkthrough_t *w, app_t *a, int step)
{
    w->cur = step;
    w->skip_armed = false;
    take_baseline(w, a);
    const walk_step_t *s = &w->script->steps[step];
    if (s->pane >= 1 && s->pane <= LAYOUT_PANES)
        a->focus = s->pane - 1;
    /* The group step starts its first consumer; the user starts the second. */
    if (!strcmp(s->check, "group") && (!a->group || groupdemo_members(a->group) == 0))
        walkthrough_group_add(a);
    /* The upload step's sample: text just over the files pipeline's 1 MiB
     * rule, so that it reaches processed_files. */
    if (!strcmp(s->check, "upload"))
        write_sample(a);
}

walkthrough_t *walkthrough_new(char *err, size_t errsize)
{
    char path[1024];
    if (assets_find("walkthrough.txt", path, sizeof path) < 0) {
        snprintf(err, errsize,
                 "walkthrough.txt not found: set STREAMLAB_ASSETS to the assets directory (tried %s)",
                 path);
        return NULL;
    }
    walk_script_t *s = walk_script_load(path, walk_check_ids, err, errsize);
    if (!s)
        return NULL;
    walkthrough_t *w = xcalloc(1, sizeof *w);
    w->script = s;
    w->done = xcalloc((size_t)s->n, sizeof *w->done);
    w->cur = -1;
    return w;
}

void walkthrough_free(walkthrough_t *w)
{
    if (sample_written) /* the upload step's file: this console's own */
        unlink(sample_path());
    sample_written = false;
    if (!w)
        return;
    walk_script_free(w->script);
    free(w->done);
    free(w);
}

bool walkthrough_visible(const walkthrough_t *w) { return w && w->visible; }

void walkthrough_show(walkthrough_t *w, app_t *a)
{
    w->visible = true;
    if (w->cur < 0)
        enter(w, a, 0);
    else if (w->cur > 0) /* a tour begun: resume it or start again */
        w->asking = true;
    else if (w->script->steps[w->cur].pane >= 1)
        a->focus = w->script->steps[w->cur].pane - 1;
}

int walkthrough_key(walkthrough_t *w, app_t *a, int key)
{
    if (!w->visible)
        return PANE_IGNORED;
    if (w->asking) {
        if (key == 'r' || key == '\n' || key == KEY_ENTER) {
            w->asking = false;
            enter(w, a, w->cur);
        } else if (key == 's') {
            w->asking = false;
            memset(w->done, 0, (size_t)w->script->n * sizeof *w->done);
            enter(w, a, 0);
        } else if (key == 27 || key == 'w') {
            w->asking = false;
            w->visible = false;
        }
        return PANE_HANDLED;
    }
    if (key != 'n')
        w->skip_armed = false;
    switch (key) {
    case 'n':
        if (w->cur + 1 >= w->script->n)
            return PANE_HANDLED;
        if (!w->done[w->cur] && !w->skip_armed) {
            /* a step not done is skipped on purpose, not by a key pressed twice */
            w->skip_armed = true;
            snprintf(a->message, sizeof a->message,
                     "step %d is not done yet (%s): n again skips it", w->cur + 1,
                     w->script->steps[w->cur].action);
            a->message_plain = true;
            return PANE_HANDLED;
        }
        enter(w, a, w->cur + 1);
        return PANE_HANDLED;
    case 'b':
        if (w->cur > 0)
            enter(w, a, w->cur - 1);
        return PANE_HANDLED;
    case 27: w->visible = false; return PANE_HANDLED;
    case 'w': w->visible = false; return PANE_HANDLED;
    default: return PANE_IGNORED;
    }
}

void walkthrough_tick(walkthrough_t *w, app_t *a)
{
    if (w->cur < 0)
        return;
    if (check(w, a, w->script->steps[w->cur].check))
        w->done[w->cur] = true;
}

int walkthrough_group_add(app_t *a)
{
    if (!a->group)
        a->group = groupdemo_new(session_kconf(a->session), "streamlab-learn", "transactions");
    int n = groupdemo_add(a->group);
    if (n < 0)
        snprintf(a->message, sizeof a->message, "the demo group has its %d consumers already",
                 GROUPDEMO_MAX_MEMBERS);
    else
        snprintf(a->message, sizeof a->message,
                 "consumer %d joined group streamlab-learn (transactions)", n);
    return n;
}

/* --- drawing -------------------------------------------------------------------- */

static void line_at(WINDOW *win, int y, int x, int attr, const char *text)
{
    wattron(win, attr);
    mvwaddstr(win, y, x, text);
    wattroff(win, attr);
}

/* A step's text with the live values in: {filter} and {high}, the thresholds
 * now (so that a text never says 500 after the user changed it), and {sample},
 * the upload step's file. */
static void live_text(const app_t *a, const char *in, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    while (*in && n + 1 < size) {
        const char *name = NULL;
        double v = 0;
        if (!strncmp(in, "{filter}", 8))
            name = "{filter}", v = a->st.filter_amount;
        else if (!strncmp(in, "{high}", 6))
            name = "{high}", v = a->st.high_value_amount;
        if (!strncmp(in, "{sample}", 8)) {
            int k = snprintf(out + n, size - n, "%s", sample_path());
            n += k > 0 && (size_t)k < size - n ? (size_t)k : 0;
            in += 8;
        } else if (name) {
            int k = snprintf(out + n, size - n, "%g", v);
            n += k > 0 && (size_t)k < size - n ? (size_t)k : 0;
            in += strlen(name);
        } else {
            out[n++] = *in++;
            out[n] = '\0';
        }
    }
}

void walkthrough_draw(walkthrough_t *w, app_t *a)
{
    if (!w->visible || w->cur < 0)
        return;
    const walk_step_t *s = &w->script->steps[w->cur];
    /* The box takes the side of the screen away from the step's pane. */
    int bw = COLS / 2 > 60 ? 60 : COLS / 2, bh = LINES - 2;
    int bx = COLS - bw;
    if (s->pane >= 1) {
        const rect_t *r = &a->panes[s->pane - 1].r;
        if (r->x + r->w / 2 >= COLS / 2)
            bx = 0;
    }
    WINDOW *win = newwin(bh, bw, 1, bx);
    if (!win)
        return;
    int tw = bw - 4; /* text width */
    werase(win);
    wattron(win, app_attr(a, C_FOCUS));
    box(win, 0, 0);
    mvwprintw(win, 0, 2, " Walkthrough %d/%d ", w->cur + 1, w->script->n);
    wattroff(win, app_attr(a, C_FOCUS));

    char lines[40][256];
    int bottom = bh - 2; /* last inside row */
    if (w->asking) {
        int n = 0;
        for (int i = 0; i < w->script->n; i++)
            n += w->done[i];
        char q[256];
        snprintf(q, sizeof q,
                 "You left the walkthrough at step %d of %d (%d done): \"%s\".", w->cur + 1,
                 w->script->n, n, s->title);
        int nq = walk_wrap(q, tw, lines, 6);
        for (int i = 0; i < nq && i < 6; i++)
            line_at(win, 2 + i, 2, 0, lines[i]);
        line_at(win, 3 + nq, 2, app_attr(a, C_HIGH) | A_BOLD, "r or Enter  resume at that step");
        line_at(win, 4 + nq, 2, app_attr(a, C_HIGH) | A_BOLD, "s           start again from step 1");
        line_at(win, 5 + nq, 2, app_attr(a, C_DIM), "Esc         leave");
        wnoutrefresh(win);
        delwin(win);
        return;
    }
    line_at(win, bottom, 2, app_attr(a, C_DIM),
            w->cur + 1 < w->script->n ? "n next  b back  Esc leave" : "b back  Esc leave");
    bool ok = w->done[w->cur];
    line_at(win, bottom - 1, 2, app_attr(a, ok ? C_PASSED : C_DIM) | (ok ? A_BOLD : 0),
            ok ? "\xE2\x9C\x93 done: you can see it" : "... waiting for it");
    for (int i = 0; i < 2; i++)
        if (w->figure[i][0]) {
            char cut[256];
            walk_wrap(w->figure[i], tw, (char(*)[256])cut, 1);
            line_at(win, bottom - 3 + i, 2, 0, cut);
        }
    char look[96];
    if (s->pane >= 1)
        snprintf(look, sizeof look, "look at: %s", a->panes[s->pane - 1].cls->title);
    else if (w->cur + 1 < w->script->n)
        snprintf(look, sizeof look, "look at: the figures below");
    else
        snprintf(look, sizeof look, "w: the walkthrough again, any time");
    line_at(win, bottom - 4, 2, app_attr(a, C_HINT), look);
    char action[1024], body[4096];
    live_text(a, s->action, action, sizeof action);
    live_text(a, s->body, body, sizeof body);
    int na = walk_wrap(action, tw - 2, lines, 4);
    if (na > 4)
        na = 4;
    int ay = bottom - 4 - na;
    for (int i = 0; i < na; i++) {
        if (i == 0)
            line_at(win, ay, 2, app_attr(a, C_HIGH) | A_BOLD, "\xE2\x96\xB6");
        line_at(win, ay + i, 4, app_attr(a, C_HIGH) | A_BOLD, lines[i]);
    }
    line_at(win, 1, 2, A_BOLD, s->title);
    int room = ay - 1 - 3; /* rows 3 .. ay-2 */
    int nb = walk_wrap(body, tw, lines, 40);
    for (int i = 0; i < nb && i < 40 && i < room; i++)
        line_at(win, 3 + i, 2, 0, lines[i]);
    wnoutrefresh(win);
    delwin(win);
}
