/* txgen.c — see txgen.h.  Records are printed straight into the buffer:
 * every string is from a fixed table, so nothing needs JSON escaping. */
#include "txgen.h"

#include <stdio.h>
#include <stdlib.h>

#include "../engine/evtime.h"
#include "../engine/util.h"

struct txgen {
    uint64_t state;
    uint64_t seq;
    uint64_t run; /* distinguishes ids of generators started at different times */
};

static const struct {
    const char *product, *category;
} catalog[] = {
    {"laptop", "electronics"}, {"phone", "electronics"}, {"headphones", "electronics"},
    {"book", "books"},         {"ebook", "books"},       {"shirt", "clothing"},
    {"shoes", "clothing"},     {"coffee_maker", "home"},
};
static const char *const payments[] = {"credit_card", "debit_card", "paypal", "bank_transfer"};

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
    return (size_t)n;
}
