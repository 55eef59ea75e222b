/* cmd_topics.c — `streamlab topics` and `streamlab groups`: what is on the cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kafka/admin.h"
#include "tui/cli/cli.h"

typedef struct topics_args {
    const char *describe, *create;
    long long partitions;
    bool json;
} topics_args_t;

static int set_partitions(void *args, const char *cmd, const char *opt, const char *arg)
{
    topics_args_t *a = args;
    if (cli_count(cmd, opt, arg, &a->partitions) < 0 || a->partitions < 1) {
        cli_error(cmd, "--partitions must be at least 1");
        return -1;
    }
    return 0;
}

static const cli_cmd_t groups_cmd;

/* groups: --create and --partitions are topics' (the usage, nothing else). */
static int not_for_groups(void *args, const char *cmd, const char *opt, const char *arg)
{
    (void)args, (void)cmd, (void)opt, (void)arg;
    cli_usage(&groups_cmd, stderr);
    return -1;
}

#define A(field) offsetof(topics_args_t, field)
static const cli_table_t topics_table = {
    22, (const cli_opt_t[]){
            {"describe", 0, CLI_STRING, A(describe), .arg = "NAME",
             .help = "one topic, with its configs"},
            {"create", 0, CLI_STRING, A(create), .arg = "NAME", .help = "create a topic"},
            {"partitions", 0, CLI_CUSTOM, .set = set_partitions, .arg = "N",
             .help = "partitions for --create (default 3)"},
            {"json", 0, CLI_FLAG, A(json), .help = "print JSON instead of a table"},
            {0}}};

static const cli_table_t groups_table = {
    22, (const cli_opt_t[]){
            {"describe", 0, CLI_STRING, A(describe), .arg = "GROUP",
             .help = "one group's lag per partition"},
            {"json", 0, CLI_FLAG, A(json), .help = "print JSON instead of a table"},
            {"create", 0, CLI_CUSTOM, .set = not_for_groups, .arg = "NAME"},
            {"partitions", 0, CLI_CUSTOM, .set = not_for_groups, .arg = "N"},
            {0}}};
#undef A

static const cli_cmd_t topics_cmd = {
    .name = "topics",
    .usage =
    "usage: streamlab topics [-b HOST:PORT] [--describe NAME] [--create NAME --partitions N]\n"
    "                        [--json]\n"
    "\n"
    "Lists topics with, per partition, its leader, log-start offset and end offset (records\n"
    "before log-start were removed by retention).  --describe adds the topic's configs\n"
    "(real Kafka only); --create makes a topic with the Admin API (replication 1).\n"
    "\n",
    .tables = {&topics_table, &cli_kafka_table}};

static const cli_cmd_t groups_cmd = {
    .name = "groups",
    .usage =
    "usage: streamlab groups [-b HOST:PORT] [--describe GROUP] [--json]\n"
    "\n"
    "Lists consumer groups (ListGroups; real Kafka only), or for one group its committed\n"
    "offset, end offset and lag per partition (works on every broker).\n"
    "\n",
    .tables = {&groups_table, &cli_kafka_table}};

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    printf("%s\n", s);
    free(s);
}

/* The width of a column: its heading or the longest value of key in rows
 * (an array of objects), whichever is wider. */
static int width_of(json_t *rows, const char *key, int w)
{
    size_t i;
    json_t *r;
    char num[32];
    json_array_foreach(rows, i, r)
    {
        json_t *v = json_object_get(r, key);
        int len = json_is_string(v) ? (int)strlen(json_string_value(v))
                                    : snprintf(num, sizeof num, "%lld",
                                               (long long)json_integer_value(v));
        if (len > w)
            w = len;
    }
    return w;
}

/* The same over every topic's partitions. */
static int part_width(json_t *topics, const char *key, const char *heading)
{
    int w = (int)strlen(heading);
    size_t i;
    json_t *t;
    json_array_foreach(topics, i, t) w = width_of(json_object_get(t, "partitions"), key, w);
    return w;
}

static void print_topics(json_t *topics)
{
    int wt = width_of(topics, "topic", 5), wp = part_width(topics, "partition", "PARTITION"),
        wl = part_width(topics, "leader", "LEADER"), ws = part_width(topics, "log_start", "LOG-START"),
        we = part_width(topics, "end", "END");
    printf("%-*s  %*s  %*s  %*s  %*s\n", wt, "TOPIC", wp, "PARTITION", wl, "LEADER", ws,
           "LOG-START", we, "END");
    size_t i, j;
    json_t *t, *p;
    json_array_foreach(topics, i, t)
    {
        json_array_foreach(json_object_get(t, "partitions"), j, p)
            printf("%-*s  %*lld  %*lld  %*lld  %*lld\n", wt,
                   json_string_value(json_object_get(t, "topic")), wp,
                   (long long)json_integer_value(json_object_get(p, "partition")), wl,
                   (long long)json_integer_value(json_object_get(p, "leader")), ws,
                   (long long)json_integer_value(json_object_get(p, "log_start")), we,
                   (long long)json_integer_value(json_object_get(p, "end")));
    }
}

/* No commit and no member (or Kafka's "Dead"): nobody has used the group. */
static bool group_unknown(json_t *v)
{
    json_t *st = json_object_get(v, "state"), *mem = json_object_get(v, "members");
    bool no_state = !json_is_string(st) || !strcmp(json_string_value(st), "Dead");
    bool no_members = !json_is_integer(mem) || json_integer_value(mem) == 0;
    bool commits = false;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(v, "partitions"), i, p)
        commits |= json_is_integer(json_object_get(p, "committed"));
    return no_state && no_members && !commits;
}

/* Parses by cmd's tables; returns -1 to go on, else an exit status. */
static int parse(const cli_cmd_t *cmd, int argc, char **argv, cli_kafka_t *ck, topics_args_t *a)
{
    int r = cli_parse(cmd, argc, argv, a, ck);
    if (r >= 0)
        return r;
    if (optind < argc) {
        cli_error(cmd->name, "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    return -1;
}

int cmd_topics(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    topics_args_t a = {.partitions = 3};
    int r = parse(&topics_cmd, argc, argv, &ck, &a);
    if (r >= 0)
        return r;
    const char *describe = a.describe, *create = a.create;
    long long partitions = a.partitions;
    bool json = a.json;
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k)))
        return r;
    char err[512];
    int rc = EXIT_OK;
    if (create) {
        if (admin_create_topic(k, create, (int)partitions, err, sizeof err) < 0) {
            cli_error("topics", "%s", err);
            rc = EXIT_FAIL;
        } else {
            printf("created topic %s with %lld partitions\n", create, partitions);
        }
    } else {
        json_t *topics = admin_topics(k, describe, err, sizeof err);
        if (!topics) {
            cli_error("topics", "%s", err);
            rc = EXIT_FAIL;
        } else if (describe) {
            json_t *t = json_array_get(topics, 0);
            json_t *cfg = admin_topic_configs(k, describe, err, sizeof err);
            if (json) {
                json_object_set(t, "configs", cfg ? cfg : json_null());
                print_json(t);
            } else {
                print_topics(topics);
                if (cfg) {
                    printf("\nconfigs of %s:\n", describe);
                    const char *name;
                    json_t *v;
                    json_object_foreach(cfg, name, v)
                        printf("  %-40s %s\n", name, json_is_string(v) ? json_string_value(v) : "-");
                } else {
                    printf("\nconfigs: %s\n", err);
                }
            }
            json_decref(cfg);
        } else if (json) {
            print_json(topics);
        } else {
            print_topics(topics);
        }
        json_decref(topics);
    }
    kconf_free(k);
    return rc;
}

int cmd_groups(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    topics_args_t a = {0};
    int r = parse(&groups_cmd, argc, argv, &ck, &a);
    if (r >= 0)
        return r;
    const char *describe = a.describe;
    bool json = a.json;
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k)))
        return r;
    char err[512];
    int rc = EXIT_OK;
    json_t *v = describe ? admin_group_lag(k, describe, NULL, err, sizeof err) : admin_groups(k, err, sizeof err);
    if (!v) {
        cli_error("groups", "%s", err);
        rc = EXIT_FAIL;
    } else if (describe && group_unknown(v)) {
        /* An answer about nothing is no answer: say so, and fail. */
        if (json) {
            json_object_set_new(v, "exists", json_false());
            print_json(v);
        }
        cli_error("groups", "group \"%s\" does not exist on %s: it has no members and no "
                            "committed offsets", describe, kconf_brokers(k));
        rc = EXIT_FAIL;
    } else if (json) {
        if (describe)
            json_object_set_new(v, "exists", json_true());
        print_json(v);
    } else if (!describe) {
        size_t i;
        json_t *g;
        json_array_foreach(v, i, g)
            printf("%s\n", json_string_value(g));
    } else {
        json_t *st = json_object_get(v, "state"), *mem = json_object_get(v, "members");
        char members[32] = "unknown";
        if (json_is_integer(mem))
            snprintf(members, sizeof members, "%lld", (long long)json_integer_value(mem));
        printf("group %s: state %s, members %s, total lag %lld\n", describe,
               json_is_string(st) ? json_string_value(st)
                                  : "unknown (the embedded broker has no DescribeGroups)",
               members, (long long)json_integer_value(json_object_get(v, "lag")));
        json_t *parts = json_object_get(v, "partitions");
        int wt = width_of(parts, "topic", 5), wp = width_of(parts, "partition", 9),
            wc = width_of(parts, "committed", 9), we = width_of(parts, "end", 3),
            wl = width_of(parts, "lag", 3);
        printf("%-*s  %*s  %*s  %*s  %*s\n", wt, "TOPIC", wp, "PARTITION", wc, "COMMITTED", we,
               "END", wl, "LAG");
        size_t i;
        json_t *p;
        json_array_foreach(parts, i, p) {
            json_t *c = json_object_get(p, "committed");
            char committed[32] = "-";
            if (json_is_integer(c))
                snprintf(committed, sizeof committed, "%lld", (long long)json_integer_value(c));
            printf("%-*s  %*lld  %*s  %*lld  %*lld\n", wt,
                   json_string_value(json_object_get(p, "topic")), wp,
                   (long long)json_integer_value(json_object_get(p, "partition")), wc, committed,
                   we, (long long)json_integer_value(json_object_get(p, "end")), wl,
                   (long long)json_integer_value(json_object_get(p, "lag")));
        }
    }
    json_decref(v);
    kconf_free(k);
    return rc;
}
