/* keymap.c — see keymap.h.  Keys from ARCHITECTURE.md's keyboard section. */
#include "tui/keymap.h"

#include <curses.h>

#define KEY_TAB 9
#define KEY_RETURN 10

const keybinding_t keymap[] = {
    {'?', ACT_HELP, "?", "this help"},
    {'q', ACT_QUIT, "q", "quit"},
    {KEY_TAB, ACT_FOCUS_NEXT, "Tab", "next pane"},
    {KEY_BTAB, ACT_FOCUS_PREV, "Shift-Tab", "previous pane"},
    {'1', ACT_FOCUS_1, "1-6", "focus a pane"},
    {'2', ACT_FOCUS_2, NULL, NULL},
    {'3', ACT_FOCUS_3, NULL, NULL},
    {'4', ACT_FOCUS_4, NULL, NULL},
    {'5', ACT_FOCUS_5, NULL, NULL},
    {'6', ACT_FOCUS_6, NULL, NULL},
    {KEY_RETURN, ACT_ZOOM, "Enter", "zoom the pane / back"},
    {KEY_ENTER, ACT_ZOOM, NULL, NULL},
    {'p', ACT_PRODUCER, "p", "transaction producer on/off"},
    {'[', ACT_RATE_DOWN, "[ ]", "producer rate down/up (1 5 20 100 1k 10k 50k/s)"},
    {']', ACT_RATE_UP, NULL, NULL},
    {'v', ACT_VIDEO, "v", "video producer on/off"},
    {'u', ACT_UPLOAD, "u", "upload a file"},
    {'t', ACT_THRESHOLD, "t", "type a threshold (pane 2: high value, else: filter)"},
    {'+', ACT_NUDGE_UP, "+ -", "nudge that threshold by 10"},
    {'=', ACT_NUDGE_UP, NULL, NULL},
    {'-', ACT_NUDGE_DOWN, NULL, NULL},
    {'/', ACT_FILTER, "/", "filter the feed by text"},
    {' ', ACT_PAUSE, "space", "pause the feed"},
    {'s', ACT_SORT, "s", "users: cycle the sort"},
    {'w', ACT_WALKTHROUGH, "w", "walkthrough (n next, b back, Esc leave)"},
    {'i', ACT_INSPECT, "i", "message inspector: browse a topic's records"},
    {'d', ACT_DASHBOARD, "d", "engine dashboard: operators, rates, lag"},
    {'l', ACT_LATE, "l c", "late events on/off; one more demo-group consumer"},
    {'c', ACT_GROUP_MEMBER, NULL, NULL},
    {'f', ACT_FRAUD, "f F", "inject card testing on/off; type the fraud thresholds"},
    {'F', ACT_FRAUD_THRESHOLDS, NULL, NULL},
    {0, ACT_NONE, NULL, NULL},
};

action_t keymap_lookup(int key)
{
    for (const keybinding_t *b = keymap; b->key; b++)
        if (b->key == key)
            return b->action;
    return ACT_NONE;
}

static const double steps[] = {1, 5, 20, 100, 1000, 10000, 50000};
#define NSTEPS (int)(sizeof steps / sizeof *steps)

double keymap_rate_step(double rate, int direction)
{
    if (direction > 0) {
        for (int i = 0; i < NSTEPS; i++)
            if (steps[i] > rate)
                return steps[i];
        return steps[NSTEPS - 1];
    }
    for (int i = NSTEPS - 1; i >= 0; i--)
        if (steps[i] < rate)
            return steps[i];
    return steps[0];
}
