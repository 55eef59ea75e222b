/* txgen.c — see txgen.h.  Records are printed straight into the buffer:
 * every string is from a fixed table, so nothing needs JSON escaping. */
#include "producers/txgen.h"

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evtime.h"

#define TXGEN_FRAUD_PENDING 1024
#include "engine/util.h"

struct txgen {
    uint64_t state;
    uint64_t seq;
    uint64_t run; /* distinguishes ids of generators started at different times */
    int64_t out_of_order_ms;
    double late_fraction, bad_fraction;
    /* card testing: the injected scenarios' records still to come, sorted by time */
    double fraud_fraction;
    struct due_tx {
        int64_t event_us;
        unsigned long long user;
        long cents;
    } due[TXGEN_FRAUD_PENDING];
    size_t ndue;
    unsigned long long fraud_users;
};

void txgen_set_disorder(txgen_t *g, int64_t out_of_order_ms, double late_fraction,
                        double bad_fraction)
{
    g->out_of_order_ms = out_of_order_ms;
    g->late_fraction = late_fraction;
    g->bad_fraction = bad_fraction;
}

static bool chance(txgen_t *g, double p) { return p > 0 && txgen_rand(g, 1000000) < p * 1000000; }

void txgen_set_fraud(txgen_t *g, double fraction) { g->fraud_fraction = fraction; }

static void schedule(txgen_t *g, int64_t event_us, unsigned long long user, long cents)
{
    size_t i = g->ndue++;
    while (i > 0 && g->due[i - 1].event_us > event_us) {
        g->due[i] = g->due[i - 1];
        i--;
    }
    g->due[i] = (struct due_tx){.event_us = event_us, .user = user, .cents = cents};
}

/* Begins a scenario at `now` (room for its three records permitting). */
static void inject(txgen_t *g, int64_t now)
{
    if (g->ndue + 3 > TXGEN_FRAUD_PENDING)
        return;
    unsigned long long user = 1001 + g->fraud_users++;
    long small = 100 + (long)txgen_rand(g, 1900);   /* 1.00 .. 19.99 */
    long large = 80001 + (long)txgen_rand(g, 19999); /* 800.01 .. 1000.00 */
    schedule(g, now, user, small);
    switch (txgen_rand(g, 4)) {
    case 0:
    case 1: schedule(g, now + 1000000 + (int64_t)txgen_rand(g, 4000001), user, large); break;
    case 2: schedule(g, now + 61000000, user, large); break; /* past the bound */
    default:
        schedule(g, now + 1000000, user, 10000 + (long)txgen_rand(g, 40001)); /* in between */
        schedule(g, now + 2000000, user, large);
    }
}

/* The original's vocabularies: its 8 products, 4 categories and 4 payment
 * methods; each product keeps one category (headphones are its accessories). */
static const struct {
    const char *product, *category;
} catalog[] = {
    {"laptop", "electronics"},    {"phone", "electronics"}, {"tablet", "electronics"},
    {"camera", "electronics"},    {"headphones", "accessories"}, {"book", "books"},
    {"shirt", "clothing"},        {"shoes", "clothing"},
};
static const char *const payments[] = {"credit_card", "debit_card", "paypal", "cash"};

txgen_t *txgen_new(uint64_t seed)
{
    txgen_t *g = xcalloc(1, sizeof *g);
    g->state = seed ? seed : 0x9E3779B97F4A7C15ull;
    g->run = (uint64_t)util_wall_ms();
    return g;
}

void txgen_free(txgen_t *g) { free(g); }

uint64_t txgen_rand(txgen_t *g, uint64_t n)
{
    /* xorshift64* */
    g->state ^= g->state >> 12;
    g->state ^= g->state << 25;
    g->state ^= g->state >> 27;
    return (g->state * 0x2545F4914F6CDD1Dull >> 11) % n;
}

size_t txgen_next(txgen_t *g, int64_t event_us, char *buf, char *key, size_t *keylen)
{
    if (chance(g, g->fraud_fraction))
        inject(g, event_us);
    struct due_tx d = {0};
    bool injected = g->ndue > 0 && g->due[0].event_us <= event_us;
    if (injected) {
        d = g->due[0];
        memmove(g->due, g->due + 1, --g->ndue * sizeof *g->due);
        event_us = d.event_us;
    } else if (g->out_of_order_ms > 0)
        event_us -= (int64_t)txgen_rand(g, (uint64_t)g->out_of_order_ms * 1000 + 1);
    if (!injected && chance(g, g->late_fraction))
        event_us -= 35000000 + (int64_t)txgen_rand(g, 30000001);
    bool bad = !injected && chance(g, g->bad_fraction);
    unsigned item = (unsigned)txgen_rand(g, 8);
    unsigned long long user = injected ? d.user : 1 + txgen_rand(g, 1000);
    long cents = injected ? d.cents : 1000 + (long)txgen_rand(g, 99001); /* 10.00 .. 1000.00 */
    char amount[24];
    if (cents % 100 == 0)
        snprintf(amount, sizeof amount, "%ld.0", cents / 100);
    else if (cents % 10 == 0)
        snprintf(amount, sizeof amount, "%ld.%ld", cents / 100, cents % 100 / 10);
    else
        snprintf(amount, sizeof amount, "%ld.%02ld", cents / 100, cents % 100);
    char ts[EVTIME_BUFSIZE];
    evtime_format_us(event_us, ts);
    *keylen = (size_t)snprintf(key, TXGEN_MAX_KEY, "user_%llu", user);
    int n = snprintf(buf, TXGEN_MAX_RECORD,
                     "{\"transaction_id\":\"txn_%llu_%llu\",\"user_id\":\"%s\",\"product\":\"%s\","
                     "\"category\":\"%s\",\"amount\":%s,\"quantity\":%u,\"payment_method\":\"%s\","
                     "\"timestamp\":\"%s\",\"location\":\"city_%u\"}",
                     (unsigned long long)g->run, (unsigned long long)++g->seq, key,
                     catalog[item].product, catalog[item].category, amount,
                     1 + (unsigned)txgen_rand(g, 5), payments[txgen_rand(g, 4)], ts,
                     1 + (unsigned)txgen_rand(g, 50));
    if (bad) {
        switch (txgen_rand(g, 4)) {
        case 0: n = snprintf(buf, TXGEN_MAX_RECORD, "not json: %s", key); break;
        case 1: n /= 2; buf[n] = '\0'; break; /* truncated */
        case 2: { /* amount as text that is not a number ("123.45 USD"): float() fails */
            char *a = strstr(buf, "\"amount\":");
            if (a) {
                memmove(a + 10, a + 9, strlen(a + 9) + 1);
                a[9] = '"';
                char *end = strchr(a + 10, ',');
                memmove(end + 5, end, strlen(end) + 1);
                memcpy(end, " USD\"", 5);
                n = (int)strlen(buf);
            }
            break;
        }
        default: { /* no location */
            char *l = strstr(buf, ",\"location\"");
            if (l) {
                strcpy(l, "}");
                n = (int)strlen(buf);
            }
        }
        }
    }
    return (size_t)n;
}
