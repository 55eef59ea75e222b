/* dashboard.c — see dashboard.h.  The operators come from the session status
 * (engine_metrics: every pipeline's operators in build order, each pipeline
 * starting at its source), so the graph is drawn as an indented tree by
 * operator kind: source, then filter/map/process, key_by, window/reduce, and
 * each sink under the operator it follows.  The console's own view sinks
 * ("view:...") are left out.  Out rates are computed here from the counts of
 * successive frames (the session gives in rates only). */
#include "tui/dashboard.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/flink/flinkmon.h"
#include "engine/kafka/groupdemo.h"
#include "engine/util.h"
#include "tui/format.h"

/* TUI thread only: the previous frame's out counts, for out/s, and the scroll. */
static uint64_t prev_out[SESSION_MAX_OPS];
static double out_rate[SESSION_MAX_OPS];
static int64_t prev_ms;
static int dash_scroll;

typedef struct row {
    char text[512];
    int attr;
} row_t;

#define MAX_ROWS 160

static void add(row_t *rows, int *n, int attr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(row_t *rows, int *n, int attr, const char *fmt, ...)
{
    if (*n >= MAX_ROWS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rows[*n].text, sizeof rows[*n].text, fmt, ap);
    va_end(ap);
    rows[(*n)++].attr = attr;
}

static const char *wm_text(int64_t wm, char *buf, size_t size)
{
    if (wm == DF_NO_TIME || wm <= 0 || wm > (int64_t)4e15)
        return "-";
    return fmt_clock(wm, buf, size);
}

static void update_rates(const session_status_t *st)
{
    int64_t now = util_mono_ms();
    if (now - prev_ms < 1000)
        return;
    double secs = prev_ms ? (now - prev_ms) / 1000.0 : 0;
    for (int i = 0; i < st->nops; i++) {
        out_rate[i] = secs > 0 && st->ops[i].out >= prev_out[i]
                          ? (st->ops[i].out - prev_out[i]) / secs
                          : 0;
        prev_out[i] = st->ops[i].out;
    }
    prev_ms = now;
}

/* "Calc[4]" -> "Calc": Flink's operator ids mean nothing to a reader. */
static void drop_ids(char *s)
{
    char *open, *close;
    while ((open = strchr(s, '[')) != NULL && (close = strchr(open, ']')) != NULL)
        memmove(open, close + 1, strlen(close + 1) + 1);
}

/* A Flink vertex's short name: its first and last chained operators without the
 * "[n]" ids ("Source: src -> ... -> LocalWindowAggregate"). */
static void short_vertex(const char *name, char *buf, size_t size)
{
    char first[128], last[128];
    const char *arrow = strstr(name, " -> ");
    snprintf(first, sizeof first, "%.*s", arrow ? (int)(arrow - name) : (int)strlen(name), name);
    const char *l = name, *p;
    while ((p = strstr(l, " -> ")) != NULL)
        l = p + 4;
    snprintf(last, sizeof last, "%s", l);
    drop_ids(first);
    drop_ids(last);
    if (arrow)
        snprintf(buf, size, "%.100s \xE2\x86\x92 %s%.100s", first, l == arrow + 4 ? "" : "\xE2\x80\xA6 \xE2\x86\x92 ", last);
    else
        snprintf(buf, size, "%s", first);
}

/* Pads or cuts a label with multi-byte arrows to lw columns (cut marked with ~). */
static int label_cols(char *label, int lw)
{
    int cols = 0;
    for (unsigned char *c = (unsigned char *)label; *c; c++) {
        if ((*c & 0xC0) != 0x80 && ++cols > lw) {
            c[-1] = '~';
            *c = '\0';
            return lw;
        }
    }
    return cols;
}

/* The Flink cluster of --flink: its jobs as the same kind of operator tree, from the
 * poller's snapshot (engine/flinkmon.c) — never from the network here. */
static void build_flink(app_t *a, row_t *rows, int *n, int lw)
{
    flinkmon_snap_t *f = a->flink_snap;
    flinkmon_snapshot(a->flink, f);
    char c1[16], c2[16], c3[16], c4[16], wm[16];
    add(rows, n, 0, "%s", "");
    int running = 0;
    for (int i = 0; i < f->jobs.njobs; i++)
        running += !strcmp(f->jobs.jobs[i].state, "RUNNING");
    if (!f->polled) {
        add(rows, n, (int)A_BOLD, "FLINK %s  (its REST API): connecting...", f->url);
        return;
    }
    if (!f->reachable) {
        add(rows, n, (int)A_BOLD | app_attr(a, C_WARN), "FLINK %s  unreachable, retrying every second",
            f->url);
        add(rows, n, app_attr(a, C_WARN), "  %s", f->error);
        if (!f->last_ok_ms)
            return;
        add(rows, n, app_attr(a, C_DIM), "  as of %llds ago:",
            (long long)((util_mono_ms() - f->last_ok_ms) / 1000));
    } else {
        add(rows, n, (int)A_BOLD, "FLINK %s  (its REST API, every second): %d job%s, %d running",
            f->url, f->jobs.njobs, f->jobs.njobs == 1 ? "" : "s", running);
    }
    if (f->jobs.njobs == 0)
        add(rows, n, app_attr(a, C_DIM), "  no jobs");
    for (int i = 0; i < f->jobs.njobs; i++) {
        const flink_job_t *j = &f->jobs.jobs[i];
        int64_t s = j->duration_ms / 1000;
        bool run = !strcmp(j->state, "RUNNING");
        char head[256];
        snprintf(head, sizeof head, "job %s %s %lldm%02llds", j->name, j->state,
                 (long long)(s / 60), (long long)(s % 60));
        if (!run) { /* finished and cancelled jobs: one dim line each */
            add(rows, n, app_attr(a, C_DIM), "  %s  %.8s", head, j->id);
            continue;
        }
        int cols = label_cols(head, lw);
        add(rows, n, (int)(A_BOLD | A_UNDERLINE), "%s%*s %7s %7s %6s %6s %8s %5s %5s", head,
            cols < lw ? lw - cols : 0, "", "IN", "OUT", "IN/s", "OUT/s", "WATERMRK", "PAR", "BP");
        for (int k = 0; k < j->nvertices; k++) {
            const flink_vertex_t *v = &j->v[k];
            char name[256], label[300]; /* the short name */
            short_vertex(v->name, name, sizeof name);
            int d = v->depth > 6 ? 6 : v->depth;
            snprintf(label, sizeof label, "%*s%s%s", d, "", d ? "\xE2\x94\x94\xE2\x96\xB6" : "",
                     name);
            int lc = label_cols(label, lw);
            bool high = !strcmp(v->backpressure, "high");
            add(rows, n, high ? app_attr(a, C_WARN) : d == 0 ? (int)A_BOLD : 0,
                "%s%*s %7s %7s %6s %6s %8s %5d %5s", label, lc < lw ? lw - lc : 0, "",
                fmt_count((double)v->in, c1, sizeof c1), fmt_count((double)v->out, c2, sizeof c2),
                fmt_count(v->in_rate, c3, sizeof c3), fmt_count(v->out_rate, c4, sizeof c4),
                wm_text(v->watermark_ms == FLINKREST_NO_WATERMARK ? DF_NO_TIME : v->watermark_ms,
                        wm, sizeof wm),
                v->parallelism, v->backpressure[0] ? v->backpressure : "-");
            /* The chain inside the vertex, the operators streamlab would list one by one. */
            add(rows, n, app_attr(a, C_DIM), "%*s  chain: %s", d + (d ? 2 : 0), "", v->name);
        }
    }
    if (f->jobs.more)
        add(rows, n, app_attr(a, C_DIM), "  (%d more jobs)", f->jobs.more);
}

static void build(app_t *a, row_t *rows, int *n)
{
    const session_status_t *st = &a->st;
    char c1[16], c2[16], c3[16], c4[16], wm[16];
    add(rows, n, (int)A_BOLD, "JOBS  (queue: batches waiting for the workers; full = backpressure)");
    for (int k = 0; k < st->njobs; k++) {
        const engine_job_stats_t *j = &st->jobs[k];
        char bar[64] = "";
        for (int i = 0; i < j->queue_capacity && i < 16; i++)
            strcat(bar, i < j->queue_depth ? "\xE2\x96\x88" : "\xE2\x96\x91");
        char lat[64] = "no output";
        if (j->p50_us >= 0)
            snprintf(lat, sizeof lat, "p50 %.1f ms  p99 %.1f ms", j->p50_us / 1000.0,
                     j->p99_us / 1000.0);
        add(rows, n, j->queue_depth >= j->queue_capacity ? app_attr(a, C_WARN) : 0,
            "  %-13s %d worker%s  queue %s %d/%d  latency (last 10 s) %s", j->name, j->workers,
            j->workers == 1 ? " " : "s", bar, j->queue_depth, j->queue_capacity, lat);
    }
    add(rows, n, 0, "%s", "");
    /* The numbers take 51 columns; the tree gets the rest (at least 24). */
    int lw = COLS - 3 - 51 < 24 ? 24 : COLS - 3 - 51 > 44 ? 44 : COLS - 3 - 51;
    add(rows, n, (int)(A_BOLD | A_UNDERLINE), "%-*s %7s %7s %6s %6s %8s %5s %5s", lw, "OPERATORS",
        "IN", "OUT", "IN/s", "OUT/s", "WATERMRK", "LATE", "DLQ");
    /* The job graph as Flink draws it: each operator under the one it reads
     * from, one level deeper, in depth-first order (children in the order the
     * pipeline made them). */
    int order[SESSION_MAX_OPS], level[SESSION_MAX_OPS], norder = 0;
    int stack[SESSION_MAX_OPS], sdepth[SESSION_MAX_OPS], ns = 0, parent[SESSION_MAX_OPS];
    for (int i = 0; i < st->nops; i++) {
        parent[i] = st->ops[i].parent >= 0 && st->ops[i].parent < st->nops ? st->ops[i].parent : -1;
        /* a side output ("window:category:late") hangs under its operator, the
         * nearest one before it named without the last ":part" */
        const char *colon = strrchr(st->ops[i].name, ':');
        if (parent[i] < 0 && strncmp(st->ops[i].name, "source:", 7) && colon)
            for (int j = i - 1; j >= 0 && parent[i] < 0; j--)
                if (strlen(st->ops[j].name) == (size_t)(colon - st->ops[i].name) &&
                    !strncmp(st->ops[j].name, st->ops[i].name, (size_t)(colon - st->ops[i].name)))
                    parent[i] = j;
    }
    for (int r = st->nops - 1; r >= 0; r--)
        if (parent[r] < 0)
            stack[ns] = r, sdepth[ns++] = 0;
    while (ns > 0 && norder < SESSION_MAX_OPS) {
        int i = stack[--ns], d = sdepth[ns];
        order[norder] = i, level[norder++] = d;
        for (int c = st->nops - 1; c >= 0; c--)
            if (parent[c] == i && c != i && ns < SESSION_MAX_OPS)
                stack[ns] = c, sdepth[ns++] = d + 1;
    }
    bool flink_shown = false;
    for (int k = 0; k < norder; k++) {
        int i = order[k], d = level[k];
        const df_op_metrics_t *o = &st->ops[i];
        if (!strncmp(o->name, "view:", 5))
            continue;
        if (!strncmp(o->name, "source:", 7) && k > 0) {
            /* Flink's jobs right under streamlab's first pipeline (transactions), whose
             * twin they usually are. */
            if (a->flink && !flink_shown) {
                build_flink(a, rows, n, lw);
                flink_shown = true;
            }
            add(rows, n, 0, "%s", "");
        }
        bool sink = !strncmp(o->name, "sink:", 5);
        char label[256], name[200];
        int room = lw - d - (d ? 2 : 0); /* a long name keeps its start and end */
        fmt_middle(o->name, room > 8 ? room : 8, name, sizeof name);
        snprintf(label, sizeof label, "%*s%s%s", d, "", d ? "\xE2\x94\x94\xE2\x96\xB6" : "",
                 name);
        int attr = o->dlq ? app_attr(a, C_WARN)
                   : sink ? app_attr(a, C_PASSED)
                   : !strncmp(o->name, "source:", 7) ? (int)A_BOLD
                                                      : 0;
        /* The label may hold multi-byte arrows: pad by columns, not bytes. */
        int cols = 0;
        for (unsigned char *c = (unsigned char *)label; *c; c++) {
            if ((*c & 0xC0) != 0x80 && ++cols > lw) { /* too long: cut, mark with ~ */
                c[-1] = '~';
                *c = '\0';
                cols = lw;
                break;
            }
        }
        add(rows, n, attr, "%s%*s %7s %7s %6s %6s %8s %5llu %5llu", label,
            cols < lw ? lw - cols : 0, "", fmt_count((double)o->in, c1, sizeof c1),
            fmt_count((double)o->out, c2, sizeof c2), fmt_count(st->ops_rate_in[i], c3, sizeof c3),
            fmt_count(out_rate[i], c4, sizeof c4), wm_text(o->watermark_ms, wm, sizeof wm),
            (unsigned long long)o->late, (unsigned long long)o->dlq);
    }
    if (a->flink && !flink_shown)
        build_flink(a, rows, n, lw);
    add(rows, n, 0, "%s", "");
    add(rows, n, (int)A_BOLD, "CONSUMER LAG per partition (end offset - committed/position)");
    if (st->lag) {
        char line[400] = "";
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(st->lag, "partitions"), i, p)
            snprintf(line + strlen(line), sizeof line - strlen(line), " %s[%lld]=%lld",
                     json_string_value(json_object_get(p, "topic")),
                     (long long)json_integer_value(json_object_get(p, "partition")),
                     (long long)json_integer_value(json_object_get(p, "lag")));
        add(rows, n, 0, "  streamlab-console (the engine), total %lld:",
            (long long)json_integer_value(json_object_get(st->lag, "lag")));
        /* Several lines when it does not fit. */
        const char *s = line;
        while (*s) {
            int take = (int)strlen(s) > COLS - 8 ? COLS - 8 : (int)strlen(s);
            while (take < (int)strlen(s) && take > 0 && s[take] != ' ')
                take--;
            if (take <= 0)
                take = (int)strlen(s);
            add(rows, n, 0, "   %.*s", take, s);
            s += take;
        }
    } else {
        add(rows, n, app_attr(a, C_DIM), "  streamlab-console: no committed offsets yet");
    }
    if (a->group) {
        groupdemo_snap_t g;
        groupdemo_snapshot(a->group, &g);
        add(rows, n, 0, "  %s (the walkthrough's demo group on %s), %d member%s:", g.group, g.topic,
            g.nmembers, g.nmembers == 1 ? "" : "s");
        for (int i = 0; i < g.nmembers; i++) {
            char line[256] = "";
            for (int j = 0; j < g.m[i].nparts; j++)
                snprintf(line + strlen(line), sizeof line - strlen(line), " %s[%d]=%lld", g.topic,
                         g.m[i].parts[j], (long long)g.m[i].lag[j]);
            add(rows, n, 0, "   consumer %d:%s", i + 1, line[0] ? line : " (no partitions)");
        }
    }
}

void dashboard_draw(app_t *a)
{
    int h = LINES - 2;
    WINDOW *w = newwin(h, COLS, 1, 0);
    if (!w)
        return;
    update_rates(&a->st);
    static row_t rows[MAX_ROWS];
    int n = 0;
    build(a, rows, &n);
    werase(w);
    wattron(w, app_attr(a, C_FOCUS));
    box(w, 0, 0);
    mvwprintw(w, 0, 2, " Engine dashboard  (Up/Down/PgDn/End scroll, d or Esc closes) ");
    wattroff(w, app_attr(a, C_FOCUS));
    int room = h - 2;
    if (dash_scroll > n - room)
        dash_scroll = n - room > 0 ? n - room : 0;
    for (int i = dash_scroll; i < n && i - dash_scroll < room; i++) {
        /* cut to the width by columns */
        int cols = 0, bytes = 0;
        for (const unsigned char *c = (const unsigned char *)rows[i].text; *c; c++) {
            if ((*c & 0xC0) != 0x80) {
                if (cols == COLS - 3)
                    break;
                cols++;
            }
            bytes++;
        }
        wattron(w, rows[i].attr);
        mvwaddnstr(w, 1 + i - dash_scroll, 1, rows[i].text, bytes);
        wattroff(w, rows[i].attr);
    }
    wnoutrefresh(w);
    delwin(w);
}

bool dashboard_key(app_t *a, int key)
{
    switch (key) {
    case 27: a->dashboard = false; return true;
    case KEY_UP: case 'k': if (dash_scroll > 0) dash_scroll--; return true;
    case KEY_DOWN: case 'j': dash_scroll++; return true;
    case KEY_PPAGE: dash_scroll = dash_scroll > 10 ? dash_scroll - 10 : 0; return true;
    case KEY_NPAGE: dash_scroll += 10; return true;
    case KEY_HOME: dash_scroll = 0; return true;
    case KEY_END: dash_scroll = 1 << 20; return true; /* clamped when drawn */
    default: return false;
    }
}
