/* test_evtime.c — evtime_parse / evtime_format: the seed's ISO-8601 timestamps.
 *
 * Expected instants are worked out by hand from day counts:
 *   1970-01-01 .. 2024-01-01 = 54 years, 13 of them leap (1972..2020)
 *                            = 54 * 365 + 13 = 19723 days
 *   2024-01-15               = 19723 + 14 = 19737 days = 1705276800 s
 * so 2024-01-15T10:30:00 is 1705276800 + 10.5 * 3600 = 1705314600 s.
 * Event time is "wall-clock ms": local date and time read as if UTC, so a
 * timestamp without a zone gives the same number whatever TZ is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/evtime.h"
#include "testlib.h"

#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)
#define MIN_MS INT64_C(60000)
/* 2024-01-15T00:00:00 in wall-clock ms (see above). */
#define JAN15_MS INT64_C(1705276800000)
/* 2024-01-15 hh:mm:ss.mmm */
#define JAN15(h, m, s, ms) (JAN15_MS + (h) * HOUR_MS + (m) * MIN_MS + (s) * INT64_C(1000) + (ms))

static void use_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* Parses a NUL-terminated string; returns the status, fills *ms. */
static int parse(const char *s, int64_t *ms) { return evtime_parse(s, strlen(s), ms); }

static void assert_parses_to(const char *s, int64_t want)
{
    int64_t got = -12345;
    int rc = parse(s, &got);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(got, want);
    if (rc != 0 || got != want)
        fprintf(stderr, "\n  \"%s\": rc %d, got %lld, want %lld\n", s, rc, (long long)got,
                (long long)want);
}

static void assert_rejected(const char *s)
{
    int64_t got = 0;
    int rc = parse(s, &got);
    CU_ASSERT_EQUAL(rc, -1);
    if (rc != -1)
        fprintf(stderr, "\n  \"%s\" was accepted as %lld\n", s, (long long)got);
}

static int suite_init(void)
{
    use_tz("UTC0");
    return 0;
}

/* --- parsing the seed's format ------------------------------------------ */

static void test_parse_seed_timestamp_with_microseconds_truncates_to_ms(void)
{
    /* .123456 s = 123 ms (+ 456 µs, below the ms resolution). */
    assert_parses_to("2024-01-15T10:30:00.123456", JAN15(10, 30, 0, 123));
    assert_parses_to("2024-01-15T10:30:00.999999", JAN15(10, 30, 0, 999));
}

static void test_parse_without_fraction_is_whole_second(void)
{
    assert_parses_to("2024-01-15T10:30:00", INT64_C(1705314600000));
    assert_parses_to("2024-01-15T00:00:00", JAN15_MS);
    assert_parses_to("1970-01-01T00:00:00", 0);
}

static void test_parse_three_and_one_digit_fractions_are_decimal_fractions(void)
{
    assert_parses_to("2024-01-15T10:30:00.123", JAN15(10, 30, 0, 123));
    assert_parses_to("2024-01-15T10:30:00.5", JAN15(10, 30, 0, 500));
    assert_parses_to("2024-01-15T10:30:00.05", JAN15(10, 30, 0, 50));
    assert_parses_to("2024-01-15T10:30:00.000", JAN15(10, 30, 0, 0));
}

static void test_parse_accepts_space_as_well_as_T_between_date_and_time(void)
{
    int64_t t = 0, sp = 0;
    CU_ASSERT_EQUAL(parse("2024-01-15T23:59:59.250", &t), 0);
    CU_ASSERT_EQUAL(parse("2024-01-15 23:59:59.250", &sp), 0);
    CU_ASSERT_EQUAL(t, JAN15(23, 59, 59, 250));
    CU_ASSERT_EQUAL(sp, t);
    assert_rejected("2024-01-15t23:59:59");
    assert_rejected("2024-01-15_23:59:59");
}

static void test_parse_reads_only_len_bytes(void)
{
    /* Kafka payloads and JSON strings are not NUL-terminated where we stop. */
    const char *s = "2024-01-15T10:30:00.250GARBAGE";
    int64_t ms = 0;
    CU_ASSERT_EQUAL(evtime_parse(s, 23, &ms), 0);
    CU_ASSERT_EQUAL(ms, JAN15(10, 30, 0, 250));
    CU_ASSERT_EQUAL(evtime_parse(s, 19, &ms), 0);
    CU_ASSERT_EQUAL(ms, JAN15(10, 30, 0, 0));
    CU_ASSERT_EQUAL(evtime_parse(s, 24, &ms), -1);
}

/* --- zones ---------------------------------------------------------------- */

static void test_parse_trailing_Z_is_utc_converted_to_local_wall_clock(void)
{
    use_tz("UTC0");
    assert_parses_to("2024-01-15T10:30:00Z", JAN15(10, 30, 0, 0));
    assert_parses_to("2024-01-15T10:30:00.250Z", JAN15(10, 30, 0, 250));
    /* In a zone 3 h east of UTC, 10:30 UTC is 13:30 on the local clock. */
    use_tz("<+03>-3");
    assert_parses_to("2024-01-15T10:30:00Z", JAN15(13, 30, 0, 0));
    use_tz("UTC0");
}

static void test_parse_offset_is_subtracted_to_reach_utc(void)
{
    use_tz("UTC0");
    /* 10:30 at +02:00 is 08:30 UTC; at -05:30 it is 16:00 UTC. */
    assert_parses_to("2024-01-15T10:30:00+02:00", JAN15(8, 30, 0, 0));
    assert_parses_to("2024-01-15T10:30:00-05:30", JAN15(16, 0, 0, 0));
    assert_parses_to("2024-01-15T10:30:00.750+00:00", JAN15(10, 30, 0, 750));
    assert_parses_to("2024-01-15T10:30:00.123456-00:00", JAN15(10, 30, 0, 123));
    /* The offset can move the date back across a year boundary:
     * 2024-01-01T01:00+02:00 = 2023-12-31T23:00 UTC = 2024-01-01 minus 1 h. */
    assert_parses_to("2024-01-01T01:00:00+02:00", (JAN15_MS - 14 * DAY_MS) - HOUR_MS);
}

static void test_parse_zoned_time_lands_on_local_clock_of_tz(void)
{
    /* Local zone UTC+3: a time written at +03:00 is already local. */
    use_tz("<+03>-3");
    assert_parses_to("2024-01-15T10:30:00+03:00", JAN15(10, 30, 0, 0));
    /* 10:30 at +02:00 = 08:30 UTC = 11:30 at UTC+3. */
    assert_parses_to("2024-01-15T10:30:00+02:00", JAN15(11, 30, 0, 0));
    /* Without a zone nothing is converted, whatever TZ says. */
    assert_parses_to("2024-01-15T10:30:00", JAN15(10, 30, 0, 0));
    use_tz("UTC0");
}

static void test_parse_rejects_malformed_zones(void)
{
    assert_rejected("2024-01-15T10:30:00+2:00");
    assert_rejected("2024-01-15T10:30:00+02:0");
    assert_rejected("2024-01-15T10:30:00+0200");
    assert_rejected("2024-01-15T10:30:00+02");
    assert_rejected("2024-01-15T10:30:00+24:00");
    assert_rejected("2024-01-15T10:30:00+02:60");
    assert_rejected("2024-01-15T10:30:00z");
    assert_rejected("2024-01-15T10:30:00ZZ");
    assert_rejected("2024-01-15T10:30:00Z ");
    assert_rejected("2024-01-15T10:30:00+02:00x");
}

/* --- calendar validation ------------------------------------------------- */

static void test_parse_accepts_leap_day_only_in_leap_years(void)
{
    /* 2024-02-29 = 2024-01-01 + 31 + 28 days = day 19723 + 59 = 19782. */
    assert_parses_to("2024-02-29T00:00:00", INT64_C(19782) * DAY_MS);
    assert_parses_to("2024-03-01T00:00:00", INT64_C(19783) * DAY_MS);
    assert_rejected("2023-02-29T00:00:00");
    /* Century rule: 2000 is leap (divisible by 400), 1900 and 2100 are not. */
    assert_parses_to("2000-02-29T00:00:00", (INT64_C(30) * 365 + 7 + 59) * DAY_MS);
    assert_rejected("1900-02-29T00:00:00");
    assert_rejected("2100-02-29T00:00:00");
    assert_rejected("2024-02-30T00:00:00");
}

static void test_parse_rejects_out_of_range_fields(void)
{
    assert_rejected("2024-13-01T00:00:00");
    assert_rejected("2024-00-10T00:00:00");
    assert_rejected("2024-01-00T00:00:00");
    assert_rejected("2024-01-32T00:00:00");
    assert_rejected("2024-04-31T00:00:00");
    assert_rejected("2024-01-15T24:00:00");
    assert_rejected("2024-01-15T10:60:00");
    assert_rejected("2024-01-15T10:30:60");
    /* The last valid value of each field is still fine. */
    assert_parses_to("2024-12-31T23:59:59.999", (INT64_C(19723) + 366) * DAY_MS - 1);
}

static void test_parse_rejects_trailing_garbage(void)
{
    assert_rejected("2024-01-15T10:30:00abc");
    assert_rejected("2024-01-15T10:30:00 ");
    assert_rejected("2024-01-15T10:30:00.123x");
    assert_rejected("2024-01-15T10:30:00.");
    assert_rejected("2024-01-15T10:30:00.Z");
    assert_rejected("2024-01-15T10:30:00,123");
}

static void test_parse_rejects_empty_short_and_misshapen_input(void)
{
    int64_t ms = 0;
    CU_ASSERT_EQUAL(evtime_parse("", 0, &ms), -1);
    assert_rejected("2024");
    assert_rejected("2024-01-15");
    assert_rejected("2024-01-15T10:30");
    assert_rejected("2024-01-15T10:30:0");
    assert_rejected("2024-1-15T10:30:00");
    assert_rejected("2024/01/15T10:30:00");
    assert_rejected("2024-01-15T10-30-00");
    assert_rejected("+024-01-15T10:30:00");
    assert_rejected("2024-01-15T1a:30:00");
    assert_rejected("not a timestamp at all");
}

static void test_parse_before_1970_gives_negative_ms(void)
{
    assert_parses_to("1969-12-31T23:59:59", -1000);
    assert_parses_to("1969-12-31T23:59:59.500", -500);
    assert_parses_to("1969-12-31T00:00:00", -DAY_MS);
    /* 1900-01-01 is -2208988800 s (70 years, 17 leap days: 25567 days);
     * 1900 is not leap, so March 1 is 31 + 28 = 59 days later. */
    assert_parses_to("1900-01-01T00:00:00", INT64_C(-25567) * DAY_MS);
    assert_parses_to("1900-03-01T00:00:00", (INT64_C(-25567) + 59) * DAY_MS);
}

/* --- formatting ------------------------------------------------------------- */

static void test_format_writes_seed_format_with_microseconds(void)
{
    char buf[EVTIME_BUFSIZE];
    CU_ASSERT_STRING_EQUAL(evtime_format(JAN15(10, 30, 0, 123), buf), "2024-01-15T10:30:00.123000");
    CU_ASSERT_STRING_EQUAL(evtime_format(0, buf), "1970-01-01T00:00:00.000000");
    CU_ASSERT_STRING_EQUAL(evtime_format(INT64_C(19782) * DAY_MS + 1, buf),
                           "2024-02-29T00:00:00.001000");
    CU_ASSERT_EQUAL(strlen(buf), 26);
    CU_ASSERT_STRING_EQUAL(evtime_format_us(JAN15(10, 30, 0, 123) * 1000 + 456, buf),
                           "2024-01-15T10:30:00.123456");
}

static void test_format_then_parse_round_trips(void)
{
    static const int64_t samples[] = {
        0,
        JAN15(10, 30, 0, 123),
        JAN15(23, 59, 59, 999),
        INT64_C(19782) * DAY_MS + 1,             /* leap day */
        (INT64_C(19723) + 366) * DAY_MS - 1,     /* last ms of 2024 */
        -1,                                      /* 1969-12-31T23:59:59.999 */
        INT64_C(-25567) * DAY_MS + 59 * DAY_MS,  /* 1900-03-01 */
        INT64_C(4102444800000) - 1,              /* 2099-12-31T23:59:59.999 */
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char buf[EVTIME_BUFSIZE];
        int64_t back = 0;
        CU_ASSERT_EQUAL(parse(evtime_format(samples[i], buf), &back), 0);
        CU_ASSERT_EQUAL(back, samples[i]);
    }
    /* And text -> ms -> text. */
    char buf[EVTIME_BUFSIZE];
    int64_t ms = 0;
    CU_ASSERT_EQUAL(parse("2024-07-04 12:00:01.042", &ms), 0);
    CU_ASSERT_STRING_EQUAL(evtime_format(ms, buf), "2024-07-04T12:00:01.042000");
}

static void test_format_of_negative_time_counts_back_from_epoch(void)
{
    char buf[EVTIME_BUFSIZE];
    /* -1 ms is the last millisecond of 1969, not "1970-01-01T00:00:00.-01". */
    CU_ASSERT_STRING_EQUAL(evtime_format(-1, buf), "1969-12-31T23:59:59.999000");
    CU_ASSERT_STRING_EQUAL(evtime_format(-1000, buf), "1969-12-31T23:59:59.000000");
    CU_ASSERT_STRING_EQUAL(evtime_format(-1001, buf), "1969-12-31T23:59:58.999000");
    CU_ASSERT_STRING_EQUAL(evtime_format(-DAY_MS, buf), "1969-12-31T00:00:00.000000");
    CU_ASSERT_STRING_EQUAL(evtime_format(-DAY_MS - 1, buf), "1969-12-30T23:59:59.999000");
    CU_ASSERT_STRING_EQUAL(evtime_format(INT64_C(-25567) * DAY_MS, buf),
                           "1900-01-01T00:00:00.000000");
    CU_ASSERT_STRING_EQUAL(evtime_format_us(-1, buf), "1969-12-31T23:59:59.999999");
}

static CU_TestInfo tests[] = {
    {"test_parse_seed_timestamp_with_microseconds_truncates_to_ms",
     test_parse_seed_timestamp_with_microseconds_truncates_to_ms},
    {"test_parse_without_fraction_is_whole_second", test_parse_without_fraction_is_whole_second},
    {"test_parse_three_and_one_digit_fractions_are_decimal_fractions",
     test_parse_three_and_one_digit_fractions_are_decimal_fractions},
    {"test_parse_accepts_space_as_well_as_T_between_date_and_time",
     test_parse_accepts_space_as_well_as_T_between_date_and_time},
    {"test_parse_reads_only_len_bytes", test_parse_reads_only_len_bytes},
    {"test_parse_trailing_Z_is_utc_converted_to_local_wall_clock",
     test_parse_trailing_Z_is_utc_converted_to_local_wall_clock},
    {"test_parse_offset_is_subtracted_to_reach_utc", test_parse_offset_is_subtracted_to_reach_utc},
    {"test_parse_zoned_time_lands_on_local_clock_of_tz",
     test_parse_zoned_time_lands_on_local_clock_of_tz},
    {"test_parse_rejects_malformed_zones", test_parse_rejects_malformed_zones},
    {"test_parse_accepts_leap_day_only_in_leap_years", test_parse_accepts_leap_day_only_in_leap_years},
    {"test_parse_rejects_out_of_range_fields", test_parse_rejects_out_of_range_fields},
    {"test_parse_rejects_trailing_garbage", test_parse_rejects_trailing_garbage},
    {"test_parse_rejects_empty_short_and_misshapen_input",
     test_parse_rejects_empty_short_and_misshapen_input},
    {"test_parse_before_1970_gives_negative_ms", test_parse_before_1970_gives_negative_ms},
    {"test_format_writes_seed_format_with_microseconds",
     test_format_writes_seed_format_with_microseconds},
    {"test_format_then_parse_round_trips", test_format_then_parse_round_trips},
    {"test_format_of_negative_time_counts_back_from_epoch",
     test_format_of_negative_time_counts_back_from_epoch},
    CU_TEST_INFO_NULL,
};

TESTLIB_MAIN("evtime", tests, suite_init, NULL)
