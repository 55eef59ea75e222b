/* inspector.c — see inspector.h.  Two screens over the panes' area: the topic
 * list (type to narrow it, Enter opens) and a topic's records (the list of a
 * partition's records newest first above, the selected record below). */
#include "tui/inspector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kafka/engine.h"
#include "engine/kafka/inspect.h"
#include "engine/util.h"
#include "tui/format.h"
#include "tui/jsonview.h"

#define SHOWN_MAX 32
#define PAGE 50 /* records per request */

enum mode { M_TOPICS, M_RECORDS };
enum input { IN_NONE, IN_SEARCH, IN_GOTO };

struct inspector {
    inspect_t *reader;
    bool visible;
    enum mode mode;
    /* topics */
    char filter[64];
    int tsel;
    /* records */
    inspect_req_t req;
    uint64_t req_no;
    int sel, scroll;     /* selected record, detail scroll */
    int64_t want_offset; /* select this offset when it arrives (g), or -1 */
    enum input input;
    char text[64];
    char message[160];
    int64_t message_until;
    inspect_snap_t snap;
    uint64_t snap_version;
    jv_doc_t *doc; /* the selected record's value, rendered */
    int64_t doc_offset;
    int32_t doc_partition;
    char shown[SHOWN_MAX][128]; /* topics with a record shown as JSON */
    int nshown;
    /* Following a fraud alert to one of its transactions (1, 2): the id
     * searched for in `transactions`, partition after partition. */
    char hunt[64];
};

inspector_t *inspector_new(session_t *s)
{
    inspector_t *in = xcalloc(1, sizeof *in);
    in->reader = inspect_new(session_kconf(s));
    in->want_offset = -1;
    in->doc_offset = -1;
    return in;
}

void inspector_free(inspector_t *in)
{
    if (!in)
        return;
    inspect_free(in->reader);
    inspect_snap_release(&in->snap);
    jsonview_free(in->doc);
    free(in);
}

bool inspector_visible(const inspector_t *in) { return in && in->visible; }

void inspector_show(inspector_t *in, app_t *a)
{
    (void)a;
    in->visible = true;
    if (in->mode == M_TOPICS)
        inspect_refresh_topics(in->reader);
}

bool inspector_shown_json(const inspector_t *in, const char *topic)
{
    for (int i = 0; in && i < in->nshown; i++)
        if (!strcmp(in->shown[i], topic))
            return true;
    return false;
}

/* --- topics --------------------------------------------------------------------- */

/* The topics matching the filter, an exact match first. */
static int matching(const inspector_t *in, json_t **out, int max)
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(in->snap.topics, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "topic"));
        if (name && !strcmp(name, in->filter) && n < max)
            out[n++] = t;
    }
    /* then the other matches: the user's topics, then the internal ones */
    for (int internal = 0; internal < 2; internal++)
        json_array_foreach(in->snap.topics, i, t)
        {
            const char *name = json_string_value(json_object_get(t, "topic"));
            if (name && strcmp(name, in->filter) && strstr(name, in->filter) && n < max &&
                engine_topic_is_internal(name) == (internal == 1))
                out[n++] = t;
        }
    return n;
}

static void send_request(inspector_t *in)
{
    in->req_no = inspect_request(in->reader, &in->req);
}

static void open_topic(inspector_t *in, const char *topic)
{
    memset(&in->req, 0, sizeof in->req);
    snprintf(in->req.topic, sizeof in->req.topic, "%s", topic);
    in->req.partition = 0;
    in->req.before = -1;
    in->req.around = -1;
    in->req.count = PAGE;
    in->mode = M_RECORDS;
    in->sel = in->scroll = 0;
    in->want_offset = -1;
    in->message[0] = '\0';
    send_request(in);
}

/* --- keys ----------------------------------------------------------------------- */

static bool answered(const inspector_t *in) { return in->snap.answered == in->req_no; }

static int input_key(inspector_t *in, int key)
{
    size_t len = strlen(in->text);
    if (key == 27) {
        in->input = IN_NONE;
    } else if (key == '\n' || key == KEY_ENTER) {
        if (in->input == IN_SEARCH) {
            snprintf(in->req.search, sizeof in->req.search, "%s", in->text);
            in->req.before = -1, in->req.around = -1, in->req.follow = false;
            in->sel = in->scroll = 0;
            send_request(in);
        } else {
            int64_t off;
            if (util_parse_i64(in->text, &off) < 0) {
                snprintf(in->message, sizeof in->message, "\"%s\" is not an offset", in->text);
                in->message_until = util_mono_ms() + 4000;
            } else {
                in->req.search[0] = '\0';
                in->req.around = off, in->req.before = -1, in->req.follow = false;
                in->want_offset = off;
                send_request(in);
            }
        }
        in->input = IN_NONE;
    } else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && len > 0) {
        in->text[len - 1] = '\0';
    } else if (key >= 32 && key < 127 && len + 1 < sizeof in->text) {
        in->text[len] = (char)key;
        in->text[len + 1] = '\0';
    }
    return PANE_HANDLED;
}

/* 1 / 2 on a fraud alert: its first / second transaction, searched for by id
 * in `transactions` (its partitions in turn, until one has it). */
static void follow_alert(inspector_t *in, int which)
{
    const inspect_snap_t *s = &in->snap;
    if (in->sel >= s->nrecs || !s->recs[in->sel].value)
        return;
    json_t *v = json_loadb(s->recs[in->sel].value, s->recs[in->sel].len, 0, NULL);
    const char *id = json_string_value(
        json_object_get(v, which == 1 ? "first_transaction_id" : "second_transaction_id"));
    if (!id || !id[0] || strlen(id) >= sizeof in->hunt) {
        snprintf(in->message, sizeof in->message, "1 and 2 follow a fraud alert to its transactions");
        in->message_until = util_mono_ms() + 4000;
        json_decref(v);
        return;
    }
    snprintf(in->hunt, sizeof in->hunt, "%s", id);
    json_decref(v);
    open_topic(in, "transactions");
    snprintf(in->req.search, sizeof in->req.search, "\"%s\"", in->hunt);
    send_request(in);
    snprintf(in->message, sizeof in->message, "looking for %s in transactions...", in->hunt);
    in->message_until = util_mono_ms() + 10000;
}

static int records_key(inspector_t *in, int key)
{
    const inspect_snap_t *s = &in->snap;
    switch (key) {
    case '1':
    case '2': follow_alert(in, key - '0'); break;
    case 27:
        in->mode = M_TOPICS;
        in->req.follow = false;
        send_request(in); /* stops a follow */
        inspect_refresh_topics(in->reader);
        break;
    case KEY_UP: case 'k':
        if (in->sel > 0)
            in->sel--, in->scroll = 0;
        else if (s->nrecs && s->recs[0].offset + 1 < s->hi && !in->req.search[0]) {
            /* newer records than this page: the page above */
            in->req.around = -1;
            in->req.before = s->recs[0].offset + 1 + PAGE;
            in->want_offset = s->recs[0].offset + 1;
            send_request(in);
        }
        break;
    case KEY_DOWN: case 'j':
        if (in->sel + 1 < s->nrecs)
            in->sel++, in->scroll = 0;
        else if (s->nrecs && s->recs[s->nrecs - 1].offset > s->lo) {
            /* older: the next page down */
            in->req.around = -1;
            in->req.before = s->recs[s->nrecs - 1].offset;
            in->want_offset = in->req.search[0] ? -2 : s->recs[s->nrecs - 1].offset - 1;
            send_request(in);
        }
        break;
    case KEY_NPAGE: case ' ': in->scroll += 5; break;
    case KEY_PPAGE: in->scroll = in->scroll > 5 ? in->scroll - 5 : 0; break;
    case KEY_LEFT: case KEY_RIGHT: case '\t': {
        int n = s->nparts > 0 ? s->nparts : 1;
        in->req.partition = (in->req.partition + (key == KEY_LEFT ? n - 1 : 1)) % n;
        in->req.before = -1, in->req.around = -1;
        in->sel = in->scroll = 0;
        in->want_offset = -1;
        send_request(in);
        break;
    }
    case '/': in->input = IN_SEARCH, in->text[0] = '\0'; break;
    case 'g': in->input = IN_GOTO, in->text[0] = '\0'; break;
    case 'f':
        in->req.follow = !in->req.follow;
        in->req.before = -1, in->req.around = -1, in->req.search[0] = '\0';
        in->sel = in->scroll = 0;
        send_request(in);
        break;
    case 'c': /* clear the search */
        in->req.search[0] = '\0';
        in->req.before = -1, in->req.around = -1;
        in->sel = 0;
        send_request(in);
        break;
    case 'r': send_request(in); break;
    default: break;
    }
    return PANE_HANDLED;
}

static int topics_key(inspector_t *in, int key)
{
    size_t len = strlen(in->filter);
    json_t *list[256];
    int n = matching(in, list, 256);
    if (key == 27) {
        in->visible = false;
    } else if (key == '\n' || key == KEY_ENTER) {
        if (n > 0) {
            int i = in->tsel < n ? in->tsel : 0;
            open_topic(in, json_string_value(json_object_get(list[i], "topic")));
        } else if (in->filter[0] && !in->snap.topics) {
            open_topic(in, in->filter); /* the list is not there yet: take the name typed */
        }
    } else if (key == KEY_UP) {
        if (in->tsel > 0)
            in->tsel--;
    } else if (key == KEY_DOWN) {
        if (in->tsel + 1 < n)
            in->tsel++;
    } else if ((key == KEY_BACKSPACE || key == 127 || key == 8) && len > 0) {
        in->filter[len - 1] = '\0';
        in->tsel = 0;
    } else if (key >= 32 && key < 127 && len + 1 < sizeof in->filter) {
        in->filter[len] = (char)key;
        in->filter[len + 1] = '\0';
        in->tsel = 0;
    }
    return PANE_HANDLED;
}

int inspector_key(inspector_t *in, app_t *a, int key)
{
    (void)a;
    if (!in->visible)
        return PANE_IGNORED;
    if (key == KEY_RESIZE)
        return PANE_IGNORED;
    in->message_until = 0; /* a key puts the message away */
    if (in->input != IN_NONE)
        return input_key(in, key);
    return in->mode == M_TOPICS ? topics_key(in, key) : records_key(in, key);
}

/* --- the reader's answers --------------------------------------------------------- */

void inspector_tick(inspector_t *in, app_t *a)
{
    (void)a;
    if (!in->visible)
        return;
    uint64_t v = inspect_version(in->reader);
    if (v == in->snap_version)
        return;
    inspect_snap_release(&in->snap);
    inspect_snapshot(in->reader, &in->snap);
    in->snap_version = in->snap.version;
    if (!answered(in))
        return;
    if (in->hunt[0] && !in->snap.busy) {
        if (in->snap.nrecs > 0) {
            snprintf(in->message, sizeof in->message, "%s: partition %d, offset %lld",
                     in->hunt, in->snap.partition, (long long)in->snap.recs[0].offset);
            in->hunt[0] = '\0';
            in->sel = 0;
        } else if (in->req.partition + 1 < in->snap.nparts) {
            in->req.partition++;
            send_request(in);
            return;
        } else {
            snprintf(in->message, sizeof in->message,
                     "%s is not among the newest records of transactions", in->hunt);
            in->hunt[0] = '\0';
        }
        in->message_until = util_mono_ms() + 8000;
    }
    if (in->want_offset != -1) {
        /* An offset out of the partition lands on its nearest end (the reader
         * clamps it) and says why: below the log start, retention removed it. */
        int64_t want = in->want_offset, at = want;
        if (want >= 0 && want < in->snap.lo)
            at = in->snap.lo;
        else if (want >= 0 && want >= in->snap.hi)
            at = in->snap.hi - 1;
        in->sel = 0;
        for (int i = 0; i < in->snap.nrecs; i++)
            if (in->snap.recs[i].offset == at)
                in->sel = i;
        if (want >= 0 && in->snap.hi <= in->snap.lo)
            snprintf(in->message, sizeof in->message, "offset %lld: partition %d holds no record",
                     (long long)want, in->snap.partition);
        else if (want >= 0 && want < in->snap.lo)
            snprintf(in->message, sizeof in->message,
                     "offset %lld was removed by retention; the oldest is %lld", (long long)want,
                     (long long)in->snap.lo);
        else if (want >= 0 && want >= in->snap.hi)
            snprintf(in->message, sizeof in->message,
                     "offset %lld is not written yet; the newest is %lld", (long long)want,
                     (long long)in->snap.hi - 1);
        else if (want >= 0 && in->snap.nrecs && in->snap.recs[in->sel].offset != want)
            snprintf(in->message, sizeof in->message, "offset %lld is not in partition %d (%lld-%lld)",
                     (long long)want, in->snap.partition, (long long)in->snap.lo,
                     (long long)in->snap.hi - 1);
        in->message_until = util_mono_ms() + 6000;
        in->want_offset = -1;
    }
    if (in->sel >= in->snap.nrecs)
        in->sel = in->snap.nrecs ? in->snap.nrecs - 1 : 0;
}

/* --- drawing ---------------------------------------------------------------------- */

/* Writes UTF-8 text cut to cols columns. */
static void put(WINDOW *w, int y, int x, int cols, int attr, const char *text)
{
    int n = 0, bytes = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if ((*s & 0xC0) != 0x80) {
            if (n == cols)
                break;
            n++;
        }
        bytes++;
    }
    wattron(w, attr);
    mvwaddnstr(w, y, x, text, bytes);
    wattroff(w, attr);
}

/* A one-line preview of a value: printable, newlines as spaces. */
static void preview(const char *v, size_t len, char *out, size_t size)
{
    size_t o = 0;
    if (!v) {
        snprintf(out, size, "(null)");
        return;
    }
    char summary[128];
    if (jsonview_b64_summary(v, len, summary, sizeof summary)) {
        snprintf(out, size, "%s", summary);
        return;
    }
    for (size_t i = 0; i < len && o + 1 < size; i++) {
        unsigned char c = (unsigned char)v[i];
        out[o++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c < 32 ? '.' : (char)c;
    }
    out[o] = '\0';
}

static void fmt_ts(int64_t ms, char *out, size_t size)
{
    if (ms < 0) {
        snprintf(out, size, "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, size, "%s.%03d", buf, (int)(ms % 1000));
}

static int kind_attr(const app_t *a, enum jv_kind k)
{
    switch (k) {
    case JV_KEY: return app_attr(a, C_BAR) | A_BOLD;
    case JV_STRING: return app_attr(a, C_PASSED);
    case JV_NUMBER: return app_attr(a, C_FOCUS);
    case JV_LITERAL: return app_attr(a, C_HIGH);
    case JV_SUMMARY: return app_attr(a, C_WARN);
    case JV_PUNCT: return app_attr(a, C_DIM);
    default: return 0;
    }
}

static void draw_topics(inspector_t *in, app_t *a, WINDOW *w, int h, int width)
{
    char line[512];
    snprintf(line, sizeof line, "topic: %s_", in->filter);
    put(w, 1, 2, width, A_BOLD, line);
    put(w, 1, 2 + (int)strlen(line) + 2, width - (int)strlen(line) - 2, app_attr(a, C_DIM),
        "(type to narrow, Up/Down, Enter opens, Esc closes)");
    json_t *list[256];
    int n = matching(in, list, 256);
    /* the name column as wide as the longest name, within half the width
     * (a longer one keeps its start and end around a "…") */
    int wn = 5;
    for (int i = 0; i < n; i++)
        if ((int)strlen(json_string_value(json_object_get(list[i], "topic"))) > wn)
            wn = (int)strlen(json_string_value(json_object_get(list[i], "topic")));
    if (wn > width / 2)
        wn = width / 2 > 12 ? width / 2 : 12;
    snprintf(line, sizeof line, "%-*s  %-8s  %10s %9s  %s", wn, "TOPIC", "KIND", "PARTITIONS",
             "RECORDS", "END OFFSETS");
    put(w, 2, 2, width, A_UNDERLINE, line);
    if (!in->snap.topics)
        put(w, 3, 2, width, app_attr(a, C_DIM),
            in->snap.status[0] ? in->snap.status : "reading the topic list...");
    for (int i = 0; i < n && 3 + i < h - 1; i++) {
        json_t *parts = json_object_get(list[i], "partitions"), *p;
        size_t j;
        long long records = 0;
        char ends[128] = "";
        json_array_foreach(parts, j, p)
        {
            long long e = json_integer_value(json_object_get(p, "end"));
            records += e - json_integer_value(json_object_get(p, "log_start"));
            snprintf(ends + strlen(ends), sizeof ends - strlen(ends), "%s%lld", j ? "/" : "", e);
        }
        const char *name = json_string_value(json_object_get(list[i], "topic"));
        bool internal = engine_topic_is_internal(name);
        char cell[256];
        fmt_middle(name, wn, cell, sizeof cell);
        int pad = wn - (int)strlen(name);
        snprintf(line, sizeof line, "%s%*s  %-8s  %10zu %9lld  %s", cell, pad > 0 ? pad : 0, "",
                 internal ? "internal" : "", json_array_size(parts), records, ends);
        put(w, 3 + i, 2, width,
            i == in->tsel ? (int)A_REVERSE : internal ? app_attr(a, C_DIM) : 0, line);
    }
}

static void draw_records(inspector_t *in, app_t *a, WINDOW *w, int h, int width)
{
    const inspect_snap_t *s = &in->snap;
    char line[1024];
    snprintf(line, sizeof line, "%s  partition %d of %d  offsets %lld-%lld%s%s%s%s", in->req.topic,
             in->req.partition, s->nparts, (long long)s->lo, (long long)s->hi - 1,
             in->req.follow ? "  [FOLLOW]" : "", in->req.search[0] ? "  search: " : "",
             in->req.search, s->busy || !answered(in) ? "  reading..." : "");
    put(w, 1, 2, width, A_BOLD, line);
    int list_h = (h - 4) / 3 < 4 ? 4 : (h - 4) / 3;
    put(w, 2, 2, width, A_UNDERLINE, "  OFFSET  TIME          KEY            VALUE");
    if (answered(in) && s->nrecs == 0)
        put(w, 3, 2, width, app_attr(a, s->status[0] ? C_WARN : C_DIM),
            s->status[0] ? s->status
            : in->req.search[0] ? "no record matches (c clears the search)"
                                : "this partition has no records");
    int first = in->sel >= list_h ? in->sel - list_h + 1 : 0;
    for (int i = first; i < s->nrecs && i - first < list_h; i++) {
        const inspect_rec_t *r = &s->recs[i];
        char ts[40], pv[256], key[64];
        fmt_ts(r->ts_ms, ts, sizeof ts);
        preview(r->value, r->len, pv, sizeof pv);
        snprintf(key, sizeof key, "%s", r->key ? r->key : "(none)");
        snprintf(line, sizeof line, "%8lld  %s  %-14.14s %s", (long long)r->offset, ts + 11, key, pv);
        put(w, 3 + i - first, 2, width, i == in->sel ? A_REVERSE : 0, line);
    }
    int y = 3 + list_h;
    mvwhline(w, y++, 1, ACS_HLINE, width + 2);
    if (in->sel < s->nrecs && answered(in)) {
        const inspect_rec_t *r = &s->recs[in->sel];
        if (!in->doc || in->doc_offset != r->offset || in->doc_partition != r->partition) {
            jsonview_free(in->doc);
            in->doc = jsonview_render(r->value, r->len);
            in->doc_offset = r->offset;
            in->doc_partition = r->partition;
        }
        if (in->doc->json) { /* the walkthrough's serialisation step reads this */
            bool known = inspector_shown_json(in, in->req.topic);
            if (!known && in->nshown < SHOWN_MAX)
                snprintf(in->shown[in->nshown++], sizeof in->shown[0], "%.127s", in->req.topic);
        }
        char ts[40];
        fmt_ts(r->ts_ms, ts, sizeof ts);
        snprintf(line, sizeof line, "key: %s   partition: %d   offset: %lld",
                 r->key ? r->key : "(none)", r->partition, (long long)r->offset);
        put(w, y++, 2, width, A_BOLD, line);
        snprintf(line, sizeof line, "timestamp: %s (%s)   value: %zu bytes%s", ts,
                 r->ts_type == 2 ? "LogAppendTime" : r->ts_type == 1 ? "CreateTime" : "none", r->len,
                 in->doc->json ? ", JSON" : "");
        put(w, y++, 2, width, 0, line);
        snprintf(line, sizeof line, "headers: %s", r->headers ? r->headers : "(none)");
        for (char *c = line; *c; c++)
            if (*c == '\n')
                *c = ' ';
        put(w, y++, 2, width, 0, line);
        int rows = h - 2 - y;
        if (in->scroll > in->doc->nlines - 1)
            in->scroll = in->doc->nlines > 0 ? in->doc->nlines - 1 : 0;
        for (int i = in->scroll; i < in->doc->nlines && i - in->scroll < rows; i++) {
            const jv_line_t *l = &in->doc->lines[i];
            int x = 2;
            for (int k = 0; k < l->nsegs && x < width + 2; k++) {
                put(w, y, x, width + 2 - x, kind_attr(a, l->segs[k].kind), l->segs[k].text);
                int cols = 0;
                for (const unsigned char *c = (const unsigned char *)l->segs[k].text; *c; c++)
                    cols += (*c & 0xC0) != 0x80;
                x += cols;
            }
            y++;
        }
    }
}

void inspector_draw(inspector_t *in, app_t *a)
{
    if (!in->visible)
        return;
    int h = LINES - 2, wd = COLS;
    WINDOW *w = newwin(h, wd, 1, 0);
    if (!w)
        return;
    werase(w);
    wattron(w, app_attr(a, C_FOCUS));
    box(w, 0, 0);
    mvwprintw(w, 0, 2, " Inspector ");
    wattroff(w, app_attr(a, C_FOCUS));
    int width = wd - 4;
    if (in->mode == M_TOPICS)
        draw_topics(in, a, w, h, width);
    else
        draw_records(in, a, w, h, width);
    /* The bottom line: an input, a message, or the keys. */
    char line[256];
    if (in->input != IN_NONE) {
        snprintf(line, sizeof line, "%s%s_", in->input == IN_SEARCH ? "search values for: " : "go to offset: ",
                 in->text);
        put(w, h - 2, 2, width, A_BOLD, line);
    } else if (in->message[0] && util_mono_ms() < in->message_until) {
        /* kept for its few seconds (or until a key): one frame was too short to read */
        put(w, h - 2, 2, width, app_attr(a, C_WARN), in->message);
    } else if (in->mode == M_RECORDS) {
        put(w, h - 2, 2, width, app_attr(a, C_DIM),
            !strncmp(in->req.topic, "fraud_alerts", 12)
                ? "Up/Dn record  Left/Right partition  1 2 the alert's transactions  Esc back"
                : "Up/Dn record  Left/Right partition  / search  g offset  f follow  Esc back");
    }
    wnoutrefresh(w);
    delwin(w);
}
