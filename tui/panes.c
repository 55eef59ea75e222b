/* panes.c — the six panes: a const class table each (title, keys, draw,
 * on_key).  draw() reads only the frame's copies in app_t. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/kafka/engine.h"
#include "tui/app.h"
#include "tui/format.h"

/* Writes printf output at (y, x) of the pane's inside, cut to `cols` columns
 * (UTF-8 aware: one column per code point, which holds for what we print). */
static void put(pane_t *p, int y, int x, int cols, int attr, const char *fmt, ...)
{
    int h, w;
    getmaxyx(p->win, h, w);
    if (y < 1 || y >= h - 1 || x >= w - 1)
        return;
    if (cols <= 0 || cols > w - 1 - x)
        cols = w - 1 - x;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    int n = 0, bytes = 0;
    for (const unsigned char *s = (const unsigned char *)buf; *s; s++) {
        if ((*s & 0xC0) != 0x80) {
            if (n == cols)
                break;
            n++;
        }
        bytes++;
    }
    wattron(p->win, attr);
    mvwaddnstr(p->win, y, x, buf, bytes);
    wattroff(p->win, attr);
}

/* Writes text at (y, x), wrapped at spaces to the pane's inner width; the
 * lines after the first start at column `indent`.  Stops at row `last`.
 * Returns the rows used (at least 1). */
static int put_wrap(pane_t *p, int y, int x, int indent, int last, int attr, const char *text)
{
    int w = getmaxx(p->win) - 1, rows = 0;
    const char *t = text;
    for (int col = x; *t && y + rows <= last; col = indent) {
        int room = w - col;
        if (room < 1)
            break;
        /* the longest prefix within room code points, cut at a space if it must be */
        int n = 0, bytes = 0, cut = -1;
        for (const unsigned char *c = (const unsigned char *)t; *c; c++) {
            if ((*c & 0xC0) != 0x80) {
                if (n == room)
                    break;
                n++;
                if (*c == ' ')
                    cut = bytes;
            }
            bytes++;
        }
        if (t[bytes] && cut > 0)
            bytes = cut;
        put(p, y + rows, col, 0, attr, "%.*s", bytes, t);
        rows++;
        t += bytes;
        while (*t == ' ')
            t++;
    }
    return rows ? rows : 1;
}

/* s in exactly w columns: cut in the middle (fmt_middle) or padded with spaces. */
static char *pad_cell(const char *s, int w, char *buf, size_t size)
{
    fmt_middle(s, w, buf, size);
    int cols = 0;
    for (const unsigned char *c = (const unsigned char *)buf; *c; c++)
        cols += (*c & 0xC0) != 0x80;
    size_t len = strlen(buf);
    while (cols < w && len + 1 < size)
        buf[len++] = ' ', cols++;
    buf[len] = '\0';
    return buf;
}

static int inner_rows(pane_t *p) { return getmaxy(p->win) - 2; }
static int inner_cols(pane_t *p) { return getmaxx(p->win) - 2; }

/* A hint, wrapped (never cut); returns the rows it took. */
static int hint(pane_t *p, app_t *a, int y, const char *text)
{
    return put_wrap(p, y, 2, 2, inner_rows(p), app_attr(a, C_HINT), text);
}

/* --- 1 Transactions ------------------------------------------------------ */

static bool matches(const view_tx_t *t, const char *filter)
{
    return !filter[0] || strstr(t->user, filter) || strstr(t->product, filter) ||
           strstr(t->category, filter) || strstr(t->id, filter);
}

/* The fraud alerts (the card-testing pattern, fraud_alerts) under the feed:
 * a title line and the newest alerts, each with both of its transactions. */
static int alert_rows(pane_t *p, const app_t *a)
{
    int most = inner_rows(p) >= 24 ? 8 : 3;
    int want = 1 + (a->view->nalerts < most ? a->view->nalerts : most);
    int room = (inner_rows(p) - 2) / 2; /* at least half the rows stay the feed's */
    return room < 1 ? 0 : want < room ? want : room;
}

static void alerts_draw(pane_t *p, app_t *a, int y)
{
    const view_snapshot_t *v = a->view;
    int rows = alert_rows(p, a);
    if (rows <= 0)
        return;
    char c1[16], m1[32], m2[32];
    put(p, y++, 1, 0, A_BOLD | (v->nalerts ? app_attr(a, C_WARN) : 0),
        "FRAUD ALERTS %llu  < %.2f then > %.2f within %g s%s",
        (unsigned long long)v->alerts_total, a->st.fraud_small, a->st.fraud_large,
        a->st.fraud_within_ms / 1000.0, v->nalerts ? "" : "  (f injects card testing)");
    for (int i = 0; i < v->nalerts && i < rows - 1; i++) {
        const view_alert_t *al = &v->alerts[i];
        put(p, y++, 1, 0, app_attr(a, C_WARN), "%-8s %-9.9s %s \u2192 %s (+%.1f s) %s \u2192 %s",
            fmt_clock(al->second_ms, c1, sizeof c1), al->user,
            fmt_money(al->first_cents, m1, sizeof m1), fmt_money(al->second_cents, m2, sizeof m2),
            (al->second_ms - al->first_ms) / 1000.0, al->first_id, al->second_id);
    }
}

static void tx_draw(pane_t *p, app_t *a)
{
    const view_snapshot_t *v = a->view;
    char c1[16], c2[16], c3[16], money[32];
    put(p, 1, 1, 0, A_BOLD, "seen %s passed %s high %s  > %.2f%s%s%s",
        fmt_count((double)v->seen, c1, sizeof c1), fmt_count((double)v->passed, c2, sizeof c2),
        fmt_count((double)v->high, c3, sizeof c3), a->st.filter_amount,
        a->paused ? "  [PAUSED]" : "", a->filter[0] ? "  /" : "", a->filter);
    bool wide = inner_cols(p) >= 64;   /* room for the product column */
    bool narrow = inner_cols(p) < 50; /* no time and partition columns */
    if (narrow)
        put(p, 2, 1, 0, A_UNDERLINE, "%-9s %-11s %10s %s", "USER", "CATEGORY", "AMOUNT", "PASS");
    else
        put(p, 2, 1, 0, A_UNDERLINE, "%-8s %-9s %-*s%-11s %10s %s %s", "TIME", "USER",
            wide ? 13 : 0, wide ? "PRODUCT" : "", "CATEGORY", "AMOUNT", "P", "PASS");
    if (v->nfeed == 0) {
        hint(p, a, 4, a->st.producer_on ? "waiting for the first transaction..."
                                        : "press p to start the transaction producer");
        if (inner_rows(p) - alert_rows(p, a) + 1 > 4) /* below the hint */
            alerts_draw(p, a, inner_rows(p) - alert_rows(p, a) + 1);
        return;
    }
    int y = 3, last = inner_rows(p) - alert_rows(p, a);
    for (int i = 0; i < v->nfeed && y <= last; i++) {
        const view_tx_t *t = &v->feed[i];
        if (!matches(t, a->filter))
            continue;
        int attr = t->high ? app_attr(a, C_HIGH) : t->passed ? 0 : app_attr(a, C_DIM);
        if (narrow) {
            put(p, y++, 1, 0, attr, "%-9.9s %-11.11s %10s %s", t->user, t->category,
                fmt_money(t->amount_cents, money, sizeof money),
                t->high ? "high" : t->passed ? "yes" : "no");
            continue;
        }
        char product[16] = "";
        if (wide)
            snprintf(product, sizeof product, "%-12.12s ", t->product);
        put(p, y++, 1, 0, attr, "%-8s %-9.9s %s%-11.11s %10s %d %s",
            fmt_clock(t->event_ms, c1, sizeof c1), t->user, product, t->category,
            fmt_money(t->amount_cents, money, sizeof money), t->partition,
            t->high ? "high" : t->passed ? "yes" : "no");
    }
    alerts_draw(p, a, last + 1);
}

/* --- 2 Users ------------------------------------------------------------- */

static void users_draw(pane_t *p, app_t *a)
{
    static const char *const sorts[] = {"total", "count", "recent"};
    const view_snapshot_t *v = a->view;
    char money[32];
    put(p, 1, 1, 0, A_BOLD, "%d users by %s (s)  high > %.2f", v->users_total,
        sorts[a->sort], a->st.high_value_amount);
    put(p, 2, 1, 0, A_UNDERLINE, "%-3s %-10s %13s %6s", "#", "USER", "TOTAL SPENT", "COUNT");
    if (v->nusers == 0) {
        hint(p, a, 4, "per-user running totals appear once transactions pass the filter");
        return;
    }
    for (int i = 0; i < v->nusers && 3 + i <= inner_rows(p); i++)
        put(p, 3 + i, 1, 0, 0, "%-3d %-10s %13s %6lld", i + 1, v->users[i].user,
            fmt_money(v->users[i].total_cents, money, sizeof money),
            (long long)v->users[i].count);
}

static int users_key(pane_t *p, app_t *a, int key)
{
    (void)p;
    if (key != 's')
        return PANE_IGNORED;
    a->sort = (a->sort + 1) % VIEW_SORT_N;
    return PANE_HANDLED | PANE_REDRAW;
}

/* --- 3 Windows ----------------------------------------------------------- */

static void window_rows(pane_t *p, app_t *a, int *y, const view_window_t *ws, int n)
{
    double max = 1;
    for (int i = 0; i < n; i++)
        if (ws[i].total_cents > max)
            max = (double)ws[i].total_cents;
    char money[32], bar[1024], start[16];
    bool narrow = inner_cols(p) < 56; /* no start column, no bar */
    int barw = inner_cols(p) - 43;
    for (int i = 0; i < n && *y <= inner_rows(p); i++, (*y)++) {
        if (narrow) {
            put(p, *y, 1, 0, 0, "%-11.11s %13s %6lld", ws[i].category,
                fmt_money(ws[i].total_cents, money, sizeof money), (long long)ws[i].count);
            continue;
        }
        put(p, *y, 1, 0, 0, "%-11.11s %8s %13s %6lld ", ws[i].category,
            fmt_clock(ws[i].start_ms, start, sizeof start),
            fmt_money(ws[i].total_cents, money, sizeof money), (long long)ws[i].count);
        put(p, *y, 43, barw, app_attr(a, C_BAR), "%s",
            fmt_bar((double)ws[i].total_cents, max, barw, bar, sizeof bar));
    }
}

static void windows_draw(pane_t *p, app_t *a)
{
    const view_snapshot_t *v = a->view;
    char wm[16], s[16], e[16];
    put(p, 1, 1, 0, A_BOLD, "watermark %s   fired %llu   late %llu   dlq %llu",
        a->st.watermark_ms == DF_NO_TIME || a->st.watermark_ms > (int64_t)4e15
            ? "--:--:--"
            : fmt_clock(a->st.watermark_ms, wm, sizeof wm),
        (unsigned long long)v->windows_fired, (unsigned long long)a->st.late,
        (unsigned long long)a->st.dlq);
    int y = 2;
    if (v->nopen == 0 && v->nfired == 0) {
        hint(p, a, 4, "30 s tumbling windows per category fill as transactions flow");
        return;
    }
    (void)s, (void)e;
    bool narrow = inner_cols(p) < 56;
    if (v->nopen) {
        if (narrow)
            put(p, y++, 1, 0, A_UNDERLINE, "%-11s %13s %6s", "OPEN 30 s", "TOTAL", "COUNT");
        else
            put(p, y++, 1, 0, A_UNDERLINE, "%-11s %8s %13s %6s  (30 s windows)", "OPEN", "START",
                "TOTAL", "COUNT");
        window_rows(p, a, &y, v->open, v->nopen);
    }
    if (v->nfired && y < inner_rows(p)) {
        if (narrow)
            put(p, y++, 1, 0, A_UNDERLINE, "%-11s %13s %6s", "LAST FIRED", "TOTAL", "COUNT");
        else
            put(p, y++, 1, 0, A_UNDERLINE, "%-11s %8s %13s %6s", "LAST FIRED", "START", "TOTAL",
                "COUNT");
        window_rows(p, a, &y, v->fired, v->nfired);
    }
}

/* --- 4 Video, 5 Files ---------------------------------------------------- */

/* The frame as libcaca ASCII art on the left, its figures on the right
 * (or one line above it when the pane is narrow).  The art is rendered
 * off-screen (frameart) once per new frame or size and copied in cell by cell. */
static void video_info(pane_t *p, app_t *a, int x, int y, int cols, bool one_line)
{
    const vidview_snapshot_t *v = &a->video;
    char c1[16], c2[16];
    if (one_line) {
        put(p, y, x, cols, A_BOLD, "%s %dx%d %s  bright %.2f  fps in %.1f out %.1f",
            v->source, v->width, v->height, v->category, v->brightness, a->video_fps_in,
            a->video_fps_out);
        return;
    }
    put(p, y++, x, cols, A_BOLD, "%s", v->source);
    put(p, y++, x, cols, 0, "%dx%d %s", v->width, v->height, v->category);
    put(p, y++, x, cols, 0, "brightness %.2f", v->brightness);
    put(p, y++, x, cols, 0, "contrast   %.2f", v->contrast);
    put(p, y++, x, cols, 0, "fps in  %5.1f", a->video_fps_in);
    put(p, y++, x, cols, 0, "fps out %5.1f", a->video_fps_out);
    put(p, y++, x, cols, 0, "seen %s", fmt_count((double)v->seen, c1, sizeof c1));
    put(p, y++, x, cols, 0, "processed %s", fmt_count((double)v->processed, c2, sizeof c2));
    put(p, y++, x, cols, app_attr(a, a->st.video_on ? C_PASSED : C_DIM), "producer %s",
        a->st.video_on ? "ON" : "off");
    for (int i = 0; i < v->nwindows && y <= inner_rows(p); i++)
        put(p, y++, x, cols, app_attr(a, C_DIM), "%-8s %lld/30s", v->windows[i].category,
            (long long)v->windows[i].frames);
}

static void video_draw(pane_t *p, app_t *a)
{
    int rows = inner_rows(p), cols = inner_cols(p);
    if (!a->video_rgb) {
        int used = hint(p, a, 2, a->st.video_on ? "waiting for the first processed frame..."
                                                : "press v to start the video producer");
        if (a->video.seen)
            hint(p, a, 2 + used, "frames arrive but none passes the 640x480 filter yet");
        return;
    }
    bool side = cols >= 50; /* room for a figures column */
    int info_w = side ? 20 : 0, top = side ? 1 : 2;
    int aw = cols - info_w - (side ? 1 : 0), ah = rows - (top - 1);
    if (!side)
        video_info(p, a, 1, 1, cols, true);
    /* Keep the picture's shape: a character cell is about twice as high as wide. */
    int w = a->video_w, h = a->video_h;
    int rh = (int)((double)aw * h / w / 2 + 0.5), rw = aw;
    if (rh > ah) {
        rh = ah;
        rw = (int)((double)ah * 2 * w / h + 0.5);
        if (rw > aw)
            rw = aw;
    }
    if (rw < 1 || rh < 1)
        return;
    if (!a->art_cells || a->art_seq != a->video_rgb_seq || a->art_cols != rw || a->art_rows != rh) {
        a->art_cells = frameart_render(a->art, a->video_rgb, w, h, rw, rh, a->video_colors);
        a->art_seq = a->video_rgb_seq, a->art_cols = rw, a->art_rows = rh;
    }
    if (!a->art_cells)
        return;
    for (int y = 0; y < rh; y++) {
        wmove(p->win, top + y, 1);
        for (int x = 0; x < rw; x++) {
            frameart_cell_t c = a->art_cells[y * rw + x];
            chtype attr = a->video_colors ? (chtype)(COLOR_PAIR(C_VIDEO + (c.fg & 7)) |
                                                     (c.fg >= 8 ? A_BOLD : 0))
                                          : 0;
            waddch(p->win, (chtype)(unsigned char)c.ch | attr);
        }
    }
    if (side)
        video_info(p, a, 1 + rw + 1, 1, info_w, false);
}

static const char *size_text(int64_t b, char *buf, size_t n)
{
    if (b < 1024)
        snprintf(buf, n, "%d B", (int)(b < 0 ? 0 : b));
    else if (b < 1048576)
        snprintf(buf, n, "%.1f KB", b / 1024.0);
    else
        snprintf(buf, n, "%.1f MB", b / 1048576.0);
    return buf;
}

static const char *state_text(const fileview_upload_t *u)
{
    switch (u->state) {
    case FV_SENDING: return "sending";
    case FV_SENT: return "sent";
    case FV_SMALL: return "sent";
    case FV_PROCESSED: return "processed";
    case FV_FAILED: return "FAILED";
    }
    return "";
}

static void files_draw(pane_t *p, app_t *a)
{
    const fileview_snapshot_t *f = a->files;
    const char *web = session_web_address(a->session);
    int y = 1, w = inner_cols(p);
    char s1[16], s2[16], bar[128];
    put(p, y++, 1, 0, A_BOLD, "processed %llu  rejected %llu%s%s",
        (unsigned long long)f->processed, (unsigned long long)f->rejected,
        web[0] ? "  web http://" : "", web);
    if (f->nrecent == 0) {
        y += 1 + hint(p, a, y + 1, "press u to upload a file (documents, videos, images);");
        y += hint(p, a, y, "files over 1 MB are analysed by the files pipeline") + 1;
    } else {
        put(p, y++, 1, 0, A_UNDERLINE, "%-20s %-8s %9s %-10s %-9s %s", "FILE", "TYPE", "SIZE",
            "CATEGORY", "STATE", "DETAIL");
    }
    /* The uploads (their details wrap) leave the last 8 rows to the per-type
     * totals and the windows below; the newest upload is always shown. */
    int recent_end = inner_rows(p) - 8;
    for (int i = 0; i < f->nrecent && (i == 0 || y < recent_end); i++) {
        const fileview_upload_t *u = &f->recent[i];
        int attr = u->state == FV_FAILED ? app_attr(a, C_WARN)
                   : u->state == FV_PROCESSED ? app_attr(a, C_PASSED)
                                              : 0;
        if (u->state == FV_SENDING && u->size > 0) {
            fmt_bar((double)u->done, (double)u->size, 12, bar, sizeof bar);
            put(p, y++, 1, 0, attr, "%-20.20s %-8s %9s %-10s %3d%% %s", u->filename, u->file_type,
                size_text(u->size, s1, sizeof s1), "", (int)(100 * u->done / u->size), bar);
        } else {
            /* The detail (an error, why a file was not analysed) is wrapped, not
             * cut: under DETAIL when there is room there, else on its own rows. */
            put(p, y, 1, 0, attr, "%-20.20s %-8s %9s %-10s %-9s ", u->filename, u->file_type,
                u->size ? size_text(u->size, s1, sizeof s1) : "", u->size_category,
                state_text(u));
            const char *d = u->state == FV_PROCESSED ? u->info : u->detail;
            int at = 1 + 20 + 1 + 8 + 1 + 9 + 1 + 10 + 1 + 9 + 1;
            if (w - at < 24)
                y++, at = 3;
            y += put_wrap(p, y, at, at, recent_end > y + 1 ? recent_end : y + 1, attr, d);
        }
    }
    if (y + 2 > inner_rows(p))
        return;
    /* Per-type totals as bars. */
    y++;
    int64_t max = 1;
    for (int i = 0; i < f->ntypes; i++)
        if (f->types[i].bytes > max)
            max = f->types[i].bytes;
    put(p, y++, 1, 0, A_UNDERLINE, "%-9s %5s %9s %s", "TYPE", "FILES", "BYTES", "(file_type_aggregations)");
    if (f->ntypes == 0 && y <= inner_rows(p))
        y += hint(p, a, y, "no processed files yet");
    int bw = w - 30 > 4 ? w - 30 : 4;
    for (int i = 0; i < f->ntypes && y <= inner_rows(p); i++) {
        const fileview_type_t *t = &f->types[i];
        put(p, y++, 1, 0, 0, "%-9s %5lld %9s %s", t->file_type, (long long)t->files,
            size_text(t->bytes, s1, sizeof s1),
            fmt_bar((double)t->bytes, (double)max, bw, bar, sizeof bar));
    }
    /* The 30 s size-category windows, newest first. */
    if (y + 1 > inner_rows(p))
        return;
    put(p, y++, 1, 0, A_UNDERLINE, "%-8s %-10s %5s %9s %9s", "WINDOW", "CATEGORY", "FILES", "BYTES",
        "AVG");
    if (f->nwindows == 0 && y <= inner_rows(p))
        y += hint(p, a, y, "a window shows here once its 30 s are over");
    for (int i = 0; i < f->nwindows && y <= inner_rows(p); i++) {
        const fileview_window_t *wd = &f->windows[i];
        char clock[16];
        put(p, y++, 1, 0, 0, "%-8s %-10s %5lld %9s %9s", fmt_clock(wd->start_ms, clock, sizeof clock),
            wd->category, (long long)wd->files, size_text(wd->bytes, s1, sizeof s1),
            size_text(wd->files ? wd->bytes / wd->files : 0, s2, sizeof s2));
    }
}

/* --- 6 Kafka & engine ---------------------------------------------------- */

static void kafka_draw(pane_t *p, app_t *a)
{
    const session_status_t *st = &a->st;
    char spark[512], c1[16], c2[16];
    int y = 1, w = inner_cols(p);
    int sw = w - 24 > 10 ? w - 24 : 10;
    put(p, y++, 1, 0, 0, "produce %6s/s %s",
        fmt_count(st->nhistory ? st->produce_rate[st->nhistory - 1] : 0, c1, sizeof c1),
        fmt_sparkline(st->produce_rate, st->nhistory, sw, spark, sizeof spark));
    put(p, y++, 1, 0, 0, "consume %6s/s %s",
        fmt_count(st->nhistory ? st->consume_rate[st->nhistory - 1] : 0, c2, sizeof c2),
        fmt_sparkline(st->consume_rate, st->nhistory, sw, spark, sizeof spark));
    /* Faults: an outage going on, the ones survived, records lost to retention. */
    if (st->outage_now)
        put(p, y++, 1, 0, app_attr(a, C_WARN) | A_BOLD,
            "BROKER DOWN for %.0f s: the engine waits and will resume where it was", st->outage_now_s);
    else if (st->outages > 0)
        put(p, y++, 1, 0, app_attr(a, C_DIM),
            "broker outages: %llu, %.1f s in all; recovered, the engine resumed where it was",
            (unsigned long long)st->outages, st->outage_s);
    if (st->engine_stall[0])
        put(p, y++, 1, 0, app_attr(a, C_WARN) | A_BOLD, "engine stalled: %s", st->engine_stall);
    if (st->engine_restarts > 0)
        put(p, y++, 1, 0, app_attr(a, C_WARN),
            "engine restarted %llu time%s from its last commit (a transaction failed)",
            (unsigned long long)st->engine_restarts, st->engine_restarts == 1 ? "" : "s");
    if (st->lost_session > 0) { /* kept for the whole session, with the time of the last loss */
        char when[16], line[256];
        snprintf(line, sizeof line,
                 "LOST: retention removed %lld records the engine had not read (this session; "
                 "the last at %s; broker keeps ~100k/partition)",
                 (long long)st->lost_session, fmt_clock(st->lost_last_ms, when, sizeof when));
        y += put_wrap(p, y, 1, 3, inner_rows(p) - 1, app_attr(a, C_WARN), line);
    }
    /* Topics with data: end offsets per partition.  Columns as wide as their
     * content (a long name keeps its start and end around a "…"); the
     * engine's own state and repartition topics listed last, dim, under
     * "internal". */
    typedef struct {
        const char *name;
        char ends[64], starts[64];
        bool internal;
    } trow_t;
    trow_t rows[64];
    int nrows = 0, wn = 5, we = 11;
    size_t i, j;
    json_t *t, *part;
    json_array_foreach(st->topics, i, t)
    {
        if (nrows == 64)
            break;
        trow_t *r = &rows[nrows];
        r->ends[0] = r->starts[0] = '\0';
        long long total = 0;
        json_array_foreach(json_object_get(t, "partitions"), j, part)
        {
            long long e = (long long)json_integer_value(json_object_get(part, "end"));
            long long s = (long long)json_integer_value(json_object_get(part, "log_start"));
            total += e;
            snprintf(r->ends + strlen(r->ends), sizeof r->ends - strlen(r->ends), "%s%lld", j ? "/" : "", e);
            snprintf(r->starts + strlen(r->starts), sizeof r->starts - strlen(r->starts), "%s%lld",
                     j ? "/" : "", s);
        }
        if (total == 0)
            continue;
        r->name = json_string_value(json_object_get(t, "topic"));
        r->internal = engine_topic_is_internal(r->name);
        if ((int)strlen(r->name) > wn)
            wn = (int)strlen(r->name);
        if ((int)strlen(r->ends) > we)
            we = (int)strlen(r->ends);
        nrows++;
    }
    int room = inner_cols(p) - 2 - we - 1 - 9; /* the name's share of the row */
    if (wn > room)
        wn = room > 12 ? room : 12;
    put(p, y++, 1, 0, A_UNDERLINE, "%-*s %-*s %s", wn, "TOPIC", we, "END OFFSETS", "LOG START");
    int shown = 0;
    bool headed = false;
    for (int pass = 0; pass < 2; pass++)
        for (int r = 0; r < nrows && y <= inner_rows(p) - 1; r++) {
            if (rows[r].internal != (pass == 1))
                continue;
            if (!headed && pass == 1) {
                put(p, y++, 1, 0, app_attr(a, C_DIM),
                    "internal (the engine's own):");
                headed = true;
                if (y > inner_rows(p) - 1)
                    break;
            }
            char name[256];
            put(p, y++, 1, 0, rows[r].internal ? app_attr(a, C_DIM) : 0, "%s %-*s %s",
                pad_cell(rows[r].name, wn, name, sizeof name), we, rows[r].ends, rows[r].starts);
            shown++;
        }
    if (!st->topics) {
        put(p, y++, 1, 0, app_attr(a, C_WARN), "broker unreachable: retrying");
        if (st->last_error[0])
            put(p, y++, 1, 0, app_attr(a, C_DIM), "%s", st->last_error);
    }
    else if (!shown)
        y += hint(p, a, y, "no records yet (p starts the producer)");
    /* The engine's consumer group. */
    if (st->lag && y < inner_rows(p)) {
        char lagline[256] = "";
        json_array_foreach(json_object_get(st->lag, "partitions"), i, part)
            snprintf(lagline + strlen(lagline), sizeof lagline - strlen(lagline), " %s[%lld]=%lld",
                     json_string_value(json_object_get(part, "topic")),
                     (long long)json_integer_value(json_object_get(part, "partition")),
                     (long long)json_integer_value(json_object_get(part, "lag")));
        put(p, y++, 1, 0, 0, "group streamlab-console lag %lld:%s",
            (long long)json_integer_value(json_object_get(st->lag, "lag")), lagline);
    }
    /* Each pipeline's job: its threads, how full the queue in front of them
     * is (backpressure), and how long a record takes to reach its outputs. */
    for (int k = 0; k < st->njobs && y < inner_rows(p); k++) {
        const engine_job_stats_t *j = &st->jobs[k];
        char lat[64] = "latency (10 s): no output";
        if (j->p50_us >= 0)
            snprintf(lat, sizeof lat, "latency (10 s) p50 %.1f ms p99 %.1f ms", j->p50_us / 1000.0,
                     j->p99_us / 1000.0);
        char line[256];
        snprintf(line, sizeof line, "%s: %d worker%s, queue %d/%d, %s", j->name, j->workers,
                 j->workers == 1 ? "" : "s", j->queue_depth, j->queue_capacity, lat);
        y += put_wrap(p, y, 1, 3, inner_rows(p) - 1,
                      j->queue_depth >= j->queue_capacity ? app_attr(a, C_WARN) : 0, line);
    }
    /* Operators. */
    /* Operators: the name column as wide as the longest name, within what the
     * numbers leave (a longer one keeps its start and end around a "…"). */
    int wo = 8;
    for (int k = 0; k < st->nops; k++)
        if (strncmp(st->ops[k].name, "view:", 5) && (int)strlen(st->ops[k].name) > wo)
            wo = (int)strlen(st->ops[k].name);
    int oroom = inner_cols(p) - 2 - 28;
    if (wo > oroom)
        wo = oroom > 12 ? oroom : 12;
    if (y < inner_rows(p))
        put(p, y++, 1, 0, A_UNDERLINE, "%-*s %9s %9s %7s", wo, "OPERATOR", "IN", "OUT", "IN/s");
    for (int k = 0; k < st->nops && y <= inner_rows(p); k++) {
        if (!strncmp(st->ops[k].name, "view:", 5))
            continue;
        char name[256];
        put(p, y++, 1, 0, 0, "%s %9llu %9llu %7s", pad_cell(st->ops[k].name, wo, name, sizeof name),
            (unsigned long long)st->ops[k].in, (unsigned long long)st->ops[k].out,
            fmt_count(st->ops_rate_in[k], c1, sizeof c1));
    }
}

const pane_class_t pane_classes[LAYOUT_PANES] = {
    {.title = "1 Transactions", .keys = "space pause  / filter  t filter amount  f F fraud",
     .draw = tx_draw},
    {.title = "2 Users", .keys = "s sort  t high-value threshold", .draw = users_draw,
     .on_key = users_key},
    {.title = "3 Windows", .keys = "t filter amount  + - nudge", .draw = windows_draw},
    {.title = "4 Video", .keys = "v video producer  Enter full screen", .draw = video_draw},
    {.title = "5 Files", .keys = "u upload", .draw = files_draw},
    {.title = "6 Kafka & engine", .keys = "p producer  [ ] rate  i inspect  d dashboard", .draw = kafka_draw},
};
