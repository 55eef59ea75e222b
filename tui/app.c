/* app.c — the console's loop: read a key (100 ms timeout), copy the frame's
 * data (session status + view snapshot), draw what changed into each pane's
 * window with wnoutrefresh, and put it on the terminal with one doupdate().
 * The terminal is restored on q, on SIGINT/SIGTERM, and before a crash
 * report (util's fatal hook, SIGSEGV/SIGABRT). */
#include "tui/app.h"

#include <dirent.h>
#include <locale.h>
#include <sys/stat.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/evtime.h"
#include "engine/imgcodec.h"
#include "engine/util.h"
#include "engine/flink/flinkmon.h"
#include "engine/kafka/groupdemo.h"
#include "producers/uploader.h"
#include "tui/dashboard.h"
#include "tui/format.h"
#include "tui/inspector.h"
#include "tui/keymap.h"
#include "tui/walkthrough.h"

static volatile sig_atomic_t g_quit;
static bool g_curses;
static bool g_walkthrough_on_open;

void app_set_walkthrough_on_open(bool on) { g_walkthrough_on_open = on; }

static void restore_terminal(void)
{
    if (g_curses) {
        g_curses = false;
        endwin();
    }
}

static void on_quit_signal(int sig) { (void)sig, g_quit = 1; }

static void on_crash(int sig)
{
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

int app_attr(const app_t *a, int pair)
{
    if (a->colors)
        return COLOR_PAIR(pair) | (pair == C_TITLE || pair == C_FOCUS ? A_BOLD : 0);
    switch (pair) {
    case C_TITLE: return A_REVERSE;
    case C_FOCUS: return A_BOLD;
    case C_HIGH: return A_BOLD;
    case C_DIM: return A_DIM;
    case C_WARN: return A_BOLD | A_UNDERLINE;
    case C_HINT: return A_DIM;
    default: return 0;
    }
}

static void init_colors(app_t *a)
{
    a->colors = has_colors() && getenv("NO_COLOR") == NULL;
    if (!a->colors)
        return;
    start_color();
    use_default_colors();
    init_pair(C_TITLE, COLOR_BLACK, COLOR_CYAN);
    init_pair(C_FOCUS, COLOR_YELLOW, -1);
    init_pair(C_HIGH, COLOR_MAGENTA, -1);
    init_pair(C_PASSED, COLOR_GREEN, -1);
    init_pair(C_DIM, COLOR_BLUE, -1);
    init_pair(C_WARN, COLOR_RED, -1);
    init_pair(C_BAR, COLOR_CYAN, -1);
    init_pair(C_HINT, COLOR_GREEN, -1);
    /* libcaca dithers against a black background; its eight base colours,
     * in libcaca's (DOS) order. */
    static const short caca_to_curses[8] = {COLOR_BLACK, COLOR_BLUE,    COLOR_GREEN,  COLOR_CYAN,
                                            COLOR_RED,   COLOR_MAGENTA, COLOR_YELLOW, COLOR_WHITE};
    a->video_colors = COLOR_PAIRS >= C_VIDEO + 8;
    for (int i = 0; a->video_colors && i < 8; i++)
        init_pair(C_VIDEO + i, caca_to_curses[i], COLOR_BLACK);
}

/* Takes the video view's snapshot; decodes the frame when it is a new one
 * and updates the fps figures once a second. */
static void update_video(app_t *a)
{
    vidview_snapshot(session_video_view(a->session), &a->video);
    if (a->video.seq && a->video.seq != a->video_rgb_seq) {
        size_t jlen;
        uint8_t *jpeg = imgcodec_b64_decode(a->video.frame_b64, a->video.frame_len, &jlen);
        uint8_t *rgb;
        int w, h;
        char err[200];
        /* 320x240 is more than a full-screen pane's cells need. */
        if (jpeg && imgcodec_jpeg_decode(jpeg, jlen, 3, 320, 240, &rgb, &w, &h, err, sizeof err) == 0) {
            free(a->video_rgb);
            a->video_rgb = rgb;
            a->video_w = w;
            a->video_h = h;
        }
        free(jpeg);
        a->video_rgb_seq = a->video.seq;
    }
    int64_t now = util_mono_ms();
    if (now - a->video_prev_ms >= 1000) {
        double secs = a->video_prev_ms ? (now - a->video_prev_ms) / 1000.0 : 0;
        if (secs > 0) {
            a->video_fps_in = (a->video.seen - a->video_prev_seen) / secs;
            a->video_fps_out = (a->video.processed - a->video_prev_processed) / secs;
        }
        a->video_prev_seen = a->video.seen;
        a->video_prev_processed = a->video.processed;
        a->video_prev_ms = now;
    }
}

static void relayout(app_t *a)
{
    rect_t r[LAYOUT_PANES];
    int ok = layout_compute(COLS, LINES, a->zoom, r) == 0;
    for (int i = 0; i < LAYOUT_PANES; i++) {
        pane_t *p = &a->panes[i];
        if (p->win) {
            delwin(p->win);
            p->win = NULL;
        }
        p->r = r[i];
        if (ok && r[i].h > 2 && r[i].w > 2)
            p->win = newwin(r[i].h, r[i].w, r[i].y, r[i].x);
    }
    clear();
    wnoutrefresh(stdscr);
}

static void draw_title(app_t *a)
{
    const session_status_t *st = &a->st;
    char clock[16], rate[16];
    double rs = st->nhistory ? st->consume_rate[st->nhistory - 1] : 0;
    char left[2048];
    char taken[160] = "";
    if (st->listen_taken[0])
        snprintf(taken, sizeof taken, " (%s was taken)", st->listen_taken);
    snprintf(left, sizeof left, " streamlab | %s %s%s%s | engine: %s | %s rec/s",
             st->embedded ? "embedded broker" : "Kafka", st->brokers, taken,
             st->reachable ? "" : " (broker unreachable)",
             st->engine_stall[0] ? "stalled (pane 6 says why)" : st->engine_state,
             fmt_count(rs, rate, sizeof rate));
    attron(app_attr(a, C_TITLE));
    mvhline(0, 0, ' ', COLS);
    mvaddnstr(0, 0, left, COLS - 10); /* the clock keeps the right edge */
    mvprintw(0, COLS - 9, "%s", fmt_clock(evtime_now_ms(), clock, sizeof clock));
    attroff(app_attr(a, C_TITLE));
    wnoutrefresh(stdscr);
}

static void draw_status(app_t *a)
{
    const session_status_t *st = &a->st;
    char rate[16], prod[16];
    move(LINES - 1, 0);
    clrtoeol();
    if (a->message[0] && util_mono_ms() < a->message_until) {
        int attr = a->message_plain ? (int)A_BOLD : app_attr(a, C_WARN);
        attron(attr);
        mvaddch(LINES - 1, 0, ' ');
        addnstr(a->message, COLS - 2);
        attroff(attr);
    } else {
        char line[512];
        snprintf(line, sizeof line,
                 " producer %s %s/s (%s sent)%s | filter > %.2f | high > %.2f | ? help  q quit | %s",
                 st->producer_waits ? "ON, waiting for the engine to join its group,"
                 : st->producer_on  ? "ON"
                                    : "off",
                 fmt_count(st->producer_rate, rate, sizeof rate),
                 fmt_count((double)st->produced, prod, sizeof prod),
                 st->video_on ? " | video ON" : "", st->filter_amount, st->high_value_amount,
                 pane_classes[a->focus].keys);
        mvaddnstr(LINES - 1, 0, line, COLS - 1);
    }
    wnoutrefresh(stdscr);
}

static void draw_pane(app_t *a, pane_t *p)
{
    if (!p->win)
        return;
    werase(p->win);
    bool focused = p->index == a->focus;
    if (focused)
        wattron(p->win, app_attr(a, C_FOCUS));
    box(p->win, 0, 0);
    mvwprintw(p->win, 0, 2, " %s ", p->cls->title);
    if (focused)
        wattroff(p->win, app_attr(a, C_FOCUS));
    p->cls->draw(p, a);
    wnoutrefresh(p->win);
}

static void draw_help(app_t *a)
{
    int n = 0;
    for (const keybinding_t *b = keymap; b->key; b++)
        n += b->help != NULL;
    int h = n + 4, w = 66;
    WINDOW *win = newwin(h, w, (LINES - h) / 2, (COLS - w) / 2);
    if (!win)
        return;
    wattron(win, app_attr(a, C_FOCUS));
    box(win, 0, 0);
    mvwprintw(win, 0, 2, " keys ");
    wattroff(win, app_attr(a, C_FOCUS));
    int y = 2;
    for (const keybinding_t *b = keymap; b->key; b++)
        if (b->help)
            mvwprintw(win, y++, 3, "%-10s %s", b->keys, b->help);
    mvwprintw(win, h - 1, 3, " any key closes ");
    wnoutrefresh(win);
    delwin(win);
}

static void draw_too_small(void)
{
    erase();
    mvprintw(LINES / 2, 0, "streamlab needs at least %dx%d (this terminal is %dx%d)",
             LAYOUT_MIN_COLS, LAYOUT_MIN_ROWS, COLS, LINES);
    wnoutrefresh(stdscr);
}

/* Tab in the upload prompt: extends the path to the longest name its
 * directory has in common with it (a lone directory gets its '/'); lists
 * several candidates in *hint.  A local readdir: quick enough for the TUI. */
static void complete_path(char *buf, size_t size, char *hint, size_t hintsize)
{
    hint[0] = '\0';
    const char *slash = strrchr(buf, '/');
    char dir[1024];
    const char *prefix = slash ? slash + 1 : buf;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - buf + 1), buf);
    else
        snprintf(dir, sizeof dir, "./");
    size_t plen = strlen(prefix);
    DIR *d = opendir(dir);
    if (!d)
        return;
    char common[256] = "";
    int matches = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) || (e->d_name[0] == '.' && prefix[0] != '.'))
            continue;
        if (matches++ == 0) {
            snprintf(common, sizeof common, "%s", e->d_name);
        } else {
            size_t k = 0;
            while (common[k] && common[k] == e->d_name[k])
                k++;
            common[k] = '\0';
        }
        size_t hl = strlen(hint);
        if (hl + strlen(e->d_name) + 2 < hintsize)
            snprintf(hint + hl, hintsize - hl, "%s%s", hl ? " " : "", e->d_name);
    }
    closedir(d);
    if (matches == 0) {
        snprintf(hint, hintsize, "(no match)");
        return;
    }
    size_t base = (size_t)(prefix - buf);
    snprintf(buf + base, size - base, "%s", common);
    if (matches == 1) {
        struct stat st;
        if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode) && strlen(buf) + 1 < size)
            strcat(buf, "/");
        hint[0] = '\0';
    }
}

/* A line of input on the status line; returns false on Esc.  Keeps the
 * engine running: getch has a timeout, and frames go on being drawn.  With
 * paths set, Tab completes file names. */
static bool prompt_ex(const char *label, char *out, size_t size, bool paths)
{
    char hint[512] = "";
    size_t len = 0;
    out[0] = '\0';
    curs_set(1);
    for (;;) {
        move(LINES - 1, 0);
        clrtoeol();
        mvprintw(LINES - 1, 0, " %s%s", label, out);
        if (hint[0]) {
            int y, x;
            getyx(stdscr, y, x);
            attron(A_DIM);
            mvaddnstr(LINES - 1, x + 2, hint, COLS - x - 3 > 0 ? COLS - x - 3 : 0);
            attroff(A_DIM);
            move(y, x);
        }
        wnoutrefresh(stdscr);
        doupdate();
        int c = getch();
        if (c == ERR)
            continue;
        if (c == 27) {
            curs_set(0);
            return false;
        }
        if (c == '\n' || c == KEY_ENTER) {
            curs_set(0);
            return true;
        }
        if (c == '\t' && paths) {
            complete_path(out, size, hint, sizeof hint);
            len = strlen(out);
            continue;
        }
        hint[0] = '\0';
        if ((c == KEY_BACKSPACE || c == 127 || c == 8) && len > 0)
            out[--len] = '\0';
        else if (c >= 32 && c < 127 && len + 1 < size) {
            out[len++] = (char)c;
            out[len] = '\0';
        }
    }
}

static bool prompt(const char *label, char *out, size_t size)
{
    return prompt_ex(label, out, size, false);
}

static void ask_upload(app_t *a)
{
    char path[1024];
    if (!prompt_ex("upload which file? (Tab completes, Esc cancels): ", path, sizeof path, true) ||
        !path[0])
        return;
    session_upload(a->session, path);
    a->focus = 4;
    upload_clean_name(path, a->upload_name, sizeof a->upload_name);
    snprintf(a->message, sizeof a->message, "uploading %.100s (progress in pane 5)", path);
    a->message_plain = true;
}

/* The status line follows the upload asked for with u to its outcome: its
 * progress while it is sent, then where it landed, or (in red) why it failed. */
static void follow_upload(app_t *a)
{
    if (!a->upload_name[0])
        return;
    const fileview_snapshot_t *f = a->files;
    const fileview_upload_t *u = NULL;
    for (int i = 0; i < f->nrecent && !u; i++)
        if (!strcmp(f->recent[i].filename, a->upload_name))
            u = &f->recent[i];
    if (!u)
        return;
    int64_t now = util_mono_ms();
    if (u->state == FV_SENDING) {
        if (u->size > 0)
            snprintf(a->message, sizeof a->message, "uploading %s: %d%% (progress in pane 5)",
                     u->filename, (int)(100 * u->done / u->size));
        a->message_plain = true;
        a->message_until = now + 1500;
        return;
    }
    if (u->state == FV_FAILED) {
        snprintf(a->message, sizeof a->message, "upload of %s FAILED: %s", u->filename, u->detail);
        a->message_plain = false;
    } else {
        snprintf(a->message, sizeof a->message, "%s %s %s", u->filename,
                 u->state == FV_PROCESSED ? "processed" : "sent", u->detail);
        a->message_plain = true;
    }
    a->message_until = now + 15000;
    a->upload_name[0] = '\0';
}

static bool threshold_is_high_value(const app_t *a) { return a->focus == 1; }

static void set_threshold(app_t *a, double v)
{
    if (threshold_is_high_value(a))
        session_set_high_value(a->session, v);
    else
        session_set_filter(a->session, v);
    snprintf(a->message, sizeof a->message, "%s threshold is now %.2f",
             threshold_is_high_value(a) ? "high-value" : "filter", v);
}

static void ask_threshold(app_t *a)
{
    char text[32], label[96];
    double cur = threshold_is_high_value(a) ? a->st.high_value_amount : a->st.filter_amount;
    snprintf(label, sizeof label, "%s threshold (now %.2f): ",
             threshold_is_high_value(a) ? "high-value" : "filter amount", cur);
    if (!prompt(label, text, sizeof text))
        return;
    double v;
    if (util_parse_double(text, &v) < 0)
        snprintf(a->message, sizeof a->message,
                 "\"%s\" is not a non-negative number; the threshold stays %.2f", text, cur);
    else
        set_threshold(a, v);
}

/* "SMALL LARGE WITHIN": the card-testing pattern's thresholds and bound (s). */
static void ask_fraud(app_t *a)
{
    char text[64], label[128];
    snprintf(label, sizeof label, "fraud: small large within-seconds (now %.2f %.2f %g): ",
             a->st.fraud_small, a->st.fraud_large, a->st.fraud_within_ms / 1000.0);
    if (!prompt(label, text, sizeof text))
        return;
    char s1[24], s2[24], s3[24];
    double small, large, within;
    if (sscanf(text, "%23s %23s %23s", s1, s2, s3) != 3 || util_parse_double(s1, &small) < 0 ||
        util_parse_double(s2, &large) < 0 || util_parse_double(s3, &within) < 0) {
        snprintf(a->message, sizeof a->message,
                 "\"%s\" is not three non-negative numbers (e.g. 20 800 60); unchanged", text);
        return;
    }
    session_set_fraud(a->session, small, large, (int64_t)(within * 1000));
    snprintf(a->message, sizeof a->message,
             "fraud alerts: < %.2f then > %.2f within %g s (records held now use them too)",
             small, large, within);
}

static void act(app_t *a, action_t action, bool *help)
{
    switch (action) {
    case ACT_HELP: *help = true; break;
    case ACT_QUIT: a->quit = true; break;
    case ACT_FOCUS_NEXT: a->focus = (a->focus + 1) % LAYOUT_PANES; break;
    case ACT_FOCUS_PREV: a->focus = (a->focus + LAYOUT_PANES - 1) % LAYOUT_PANES; break;
    case ACT_FOCUS_1: case ACT_FOCUS_2: case ACT_FOCUS_3:
    case ACT_FOCUS_4: case ACT_FOCUS_5: case ACT_FOCUS_6:
        a->focus = action - ACT_FOCUS_1;
        if (a->zoom >= 0) {
            a->zoom = a->focus;
            relayout(a);
        }
        break;
    case ACT_ZOOM:
        a->zoom = a->zoom >= 0 ? -1 : a->focus;
        relayout(a);
        break;
    case ACT_PRODUCER: session_producer_toggle(a->session); break;
    case ACT_RATE_DOWN:
    case ACT_RATE_UP:
        session_producer_rate(a->session,
                              keymap_rate_step(a->st.producer_rate, action == ACT_RATE_UP ? 1 : -1));
        break;
    case ACT_THRESHOLD: ask_threshold(a); break;
    case ACT_NUDGE_UP:
    case ACT_NUDGE_DOWN: {
        double cur = threshold_is_high_value(a) ? a->st.high_value_amount : a->st.filter_amount;
        double v = cur + (action == ACT_NUDGE_UP ? 10 : -10);
        set_threshold(a, v < 0 ? 0 : v);
        break;
    }
    case ACT_FILTER: {
        char text[sizeof a->filter];
        if (prompt("filter the feed (empty clears): ", text, sizeof text))
            snprintf(a->filter, sizeof a->filter, "%s", text);
        break;
    }
    case ACT_PAUSE: a->paused = !a->paused; break;
    case ACT_VIDEO:
        session_video_toggle(a->session);
        snprintf(a->message, sizeof a->message, "video producer %s (synthetic 640x480)",
                 a->st.video_on ? "stopping" : "starting");
        break;
    case ACT_UPLOAD: ask_upload(a); break;
    case ACT_WALKTHROUGH: {
        char err[600];
        if (!a->walk && !(a->walk = walkthrough_new(err, sizeof err))) {
            snprintf(a->message, sizeof a->message, "%.159s", err);
            a->message_until = util_mono_ms() + 10000;
        }
        else
            walkthrough_show(a->walk, a);
        break;
    }
    case ACT_INSPECT:
        if (!a->insp)
            a->insp = inspector_new(a->session);
        inspector_show(a->insp, a);
        break;
    case ACT_DASHBOARD: a->dashboard = !a->dashboard; break;
    case ACT_LATE: {
        bool on = session_late_fraction(a->session) <= 0;
        session_set_late_fraction(a->session, on ? 0.2 : 0);
        snprintf(a->message, sizeof a->message, "late events %s",
                 on ? "ON: 20% of new transactions are 35-65 s old" : "off");
        break;
    }
    case ACT_GROUP_MEMBER: walkthrough_group_add(a); break;
    case ACT_FRAUD: {
        bool on = session_fraud_fraction(a->session) <= 0;
        session_set_fraud_fraction(a->session, on ? 0.02 : 0);
        snprintf(a->message, sizeof a->message, "card testing %s",
                 on ? "ON: 2% of new transactions start a pair (< 20 then > 800) or a near miss"
                    : "off");
        break;
    }
    case ACT_FRAUD_THRESHOLDS: ask_fraud(a); break;
    case ACT_SORT: break; /* the Users pane's key */
    case ACT_NONE: break;
    }
}

int app_run(const session_opts_t *o)
{
    setlocale(LC_ALL, "");
    app_t *a = xcalloc(1, sizeof *a);
    a->zoom = -1;
    a->view = xcalloc(1, sizeof *a->view);
    a->art = frameart_new();
    a->files = xcalloc(1, sizeof *a->files);
    for (int i = 0; i < LAYOUT_PANES; i++)
        a->panes[i] = (pane_t){.cls = &pane_classes[i], .index = i};

    util_set_fatal_hook(restore_terminal);
    atexit(restore_terminal);
    struct sigaction sa = {.sa_handler = on_quit_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGSEGV, on_crash);
    signal(SIGABRT, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGPIPE, SIG_IGN);

    initscr();
    g_curses = true;
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(50);
    timeout(100);
    init_colors(a);
    /* The screen comes first: the embedded broker takes about a second. */
    mvprintw(LINES / 2, (COLS > 40 ? COLS - 40 : 0) / 2, "streamlab: starting %s...",
             o->brokers ? "the engine" : "the embedded broker");
    refresh();
    char err[512];
    session_t *s = session_start(o, err, sizeof err);
    if (!s) {
        restore_terminal();
        fprintf(stderr, "streamlab: %s\n", err);
        frameart_free(a->art);
        free(a->view);
        free(a->files);
        free(a);
        return 1;
    }
    a->session = s;
    /* The default address was taken: one line on stderr says where the broker
     * is and how to attach kcat; now when stderr is not this terminal, else
     * once the terminal is given back (so that it stays in the scrollback). */
    char taken_line[1024] = "";
    session_status(s, &a->st);
    if (a->st.listen_taken[0])
        snprintf(taken_line, sizeof taken_line,
                 "streamlab: %s was taken; the embedded broker listens on %s "
                 "(attach: kcat -b %s -L)\n",
                 a->st.listen_taken, a->st.brokers, a->st.brokers);
    session_status_release(&a->st);
    if (taken_line[0] && !isatty(2)) {
        fputs(taken_line, stderr);
        fflush(stderr);
    }
    if (o->flink_url) { /* its thread does the HTTP; the dashboard copies its snapshot */
        a->flink = flinkmon_new(o->flink_url, 1000, 2000);
        a->flink_snap = xcalloc(1, sizeof *a->flink_snap);
    }
    relayout(a);
    if (g_walkthrough_on_open)
        act(a, ACT_WALKTHROUGH, &(bool){false});

    bool help = false;
    int64_t last_frame = 0;
    while (!a->quit && !g_quit) {
        int c = getch();
        if (c == KEY_RESIZE) {
            relayout(a);
        } else if (c != ERR) {
            a->message[0] = '\0';
            a->message_plain = false;
            a->message_until = util_mono_ms() + 3000;
            if (help) {
                help = false;
            } else if (inspector_visible(a->insp)) {
                inspector_key(a->insp, a, c);
            } else if (walkthrough_visible(a->walk) && walkthrough_key(a->walk, a, c)) {
                /* n, b, Esc */
            } else if (a->dashboard && dashboard_key(a, c)) {
                /* the dashboard's own keys */
            } else {
                pane_t *p = &a->panes[a->focus];
                int r = p->cls->on_key ? p->cls->on_key(p, a, c) : PANE_IGNORED;
                if (!(r & PANE_HANDLED))
                    act(a, keymap_lookup(c), &help);
            }
        }
        /* 15 frames/s while video flows, else 10. */
        int frame_ms = a->st.video_on || a->video_fps_out > 0 ? 66 : 100;
        timeout(frame_ms);
        int64_t now = util_mono_ms();
        if (c == ERR && now - last_frame < frame_ms)
            continue;
        last_frame = now;
        session_status_release(&a->st);
        session_status(s, &a->st);
        if (!a->paused) {
            view_snapshot(session_view(s), a->sort, a->view);
            update_video(a);
        }
        if (a->walk)
            walkthrough_tick(a->walk, a);
        if (a->insp)
            inspector_tick(a->insp, a);
        fileview_snapshot(session_files(s), a->files);
        follow_upload(a);
        if (COLS < LAYOUT_MIN_COLS || LINES < LAYOUT_MIN_ROWS) {
            draw_too_small();
        } else {
            draw_title(a);
            if (a->dashboard)
                dashboard_draw(a);
            else
                for (int i = 0; i < LAYOUT_PANES; i++)
                    draw_pane(a, &a->panes[i]);
            draw_status(a);
            if (a->walk)
                walkthrough_draw(a->walk, a);
            if (a->insp)
                inspector_draw(a->insp, a);
            if (help)
                draw_help(a);
        }
        doupdate();
    }
    for (int i = 0; i < LAYOUT_PANES; i++)
        if (a->panes[i].win)
            delwin(a->panes[i].win);
    restore_terminal();
    if (taken_line[0] && isatty(2))
        fputs(taken_line, stderr);
    session_status_release(&a->st);
    int64_t t = util_mono_ms();
    walkthrough_free(a->walk);
    inspector_free(a->insp);
    int64_t t_insp = util_mono_ms();
    groupdemo_free(a->group); /* its consumers leave before the broker stops */
    int64_t t_group = util_mono_ms();
    flinkmon_free(a->flink);
    if (getenv("STREAMLAB_LOG") && *getenv("STREAMLAB_LOG")) /* see session_stop */
        util_log("quit: inspector %lld ms, demo group %lld ms, flink monitor %lld ms",
                 (long long)(t_insp - t), (long long)(t_group - t_insp),
                 (long long)(util_mono_ms() - t_group));
    free(a->flink_snap);
    session_stop(s);
    vidview_snapshot_release(&a->video);
    frameart_free(a->art);
    free(a->video_rgb);
    free(a->view);
    free(a->files);
    free(a);
    return 0;
}
