/* txgen.c — see txgen.h.  Records are printed straight into the buffer:
 * every string is from a fixed table, so nothing needs JSON escaping. */
#include "producers/txgen.h"

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "engine/evtime.h"
#include "engine/util.h"

struct txgen {
    uint64_t state;
    uint64_t seq;
    uint64_t run; /* distinguishes ids of generators started at different times */
    int64_t out_of_order_ms;
    double late_fraction, bad_fraction;
};

void txgen_set_disorder(txgen_t *g, int64_t out_of_order_ms, double late_fraction,
                        double bad_fraction)
{
    g->out_of_order_ms = out_of_order_ms;
    g->late_fraction = late_fraction;
    g->bad_fraction = bad_fraction;
}

static bool chance(txgen_t *g, double p) { return p > 0 && txgen_rand(g, 1000000) < p * 1000000; }

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
    if (g->out_of_order_ms > 0)
        event_us -= (int64_t)txgen_rand(g, (uint64_t)g->out_of_order_ms * 1000 + 1);
    if (chance(g, g->late_fraction))
        event_us -= 35000000 + (int64_t)txgen_rand(g, 30000001);
    bool bad = chance(g, g->bad_fraction);
    unsigned item = (unsigned)txgen_rand(g, 8);
    unsigned user = 1 + (unsigned)txgen_rand(g, 1000);
    long cents = 1000 + (long)txgen_rand(g, 99001); /* 10.00 .. 1000.00 */
    char amount[24];
    if (cents % 100 == 0)
        snprintf(amount, sizeof amount, "%ld.0", cents / 100);
    else if (cents % 10 == 0)
        snprintf(amount, sizeof amount, "%ld.%ld", cents / 100, cents % 100 / 10);
    else
        snprintf(amount, sizeof amount, "%ld.%02ld", cents / 100, cents % 100);
    char ts[EVTIME_BUFSIZE];
    evtime_format_us(event_us, ts);
    *keylen = (size_t)snprintf(key, TXGEN_MAX_KEY, "user_%u", user);
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
