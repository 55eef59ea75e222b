/* keymap.h — the console's main-screen bindings, as data (one table). */
#ifndef STREAMLAB_KEYMAP_H
#define STREAMLAB_KEYMAP_H

typedef enum action {
    ACT_NONE,
    ACT_HELP, ACT_QUIT, ACT_FOCUS_NEXT, ACT_FOCUS_PREV, ACT_FOCUS_1, ACT_FOCUS_2, ACT_FOCUS_3,
    ACT_FOCUS_4, ACT_FOCUS_5, ACT_FOCUS_6, ACT_ZOOM, ACT_PRODUCER, ACT_RATE_DOWN, ACT_RATE_UP,
    ACT_VIDEO, ACT_UPLOAD, ACT_THRESHOLD, ACT_NUDGE_UP, ACT_NUDGE_DOWN, ACT_FILTER, ACT_PAUSE,
    ACT_SORT, ACT_WALKTHROUGH, ACT_INSPECT, ACT_DASHBOARD, ACT_LATE, ACT_GROUP_MEMBER,
    ACT_FRAUD, ACT_FRAUD_THRESHOLDS,
} action_t;

typedef struct keybinding {
    int key;
    action_t action;
    const char *keys; /* as the help shows them */
    const char *help;
} keybinding_t;

/* The table, ended by a zeroed entry. */
extern const keybinding_t keymap[];
/* The action bound to key (an ncurses key code), or ACT_NONE. */
action_t keymap_lookup(int key);

/* Producer rate steps for [ and ]: the next step down or up from rate. */
double keymap_rate_step(double rate, int direction);

#endif
