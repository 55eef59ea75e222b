/* cmd_topics.c — `streamlab topics` and `streamlab groups`: what is on the cluster. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/kafka/admin.h"
#include "tui/cli/cli.h"

static const char topics_usage[] =
    "usage: streamlab topics [-b HOST:PORT] [--describe NAME] [--create NAME --partitions N]\n"
    "                        [--json]\n"
    "\n"
    "Lists topics with, per partition, its leader, log-start offset and end offset (records\n"
    "before log-start were removed by retention).  --describe adds the topic's configs\n"
    "(real Kafka only); --create makes a topic with the Admin API (replication 1).\n"
    "\n"
    "  --describe NAME     one topic, with its configs\n"
    "  --create NAME       create a topic\n"
    "  --partitions N      partitions for --create (default 3)\n"
    "  --json              print JSON instead of a table\n" CLI_COMMON_HELP;

static const char groups_usage[] =
    "usage: streamlab groups [-b HOST:PORT] [--describe GROUP] [--json]\n"
    "\n"
    "Lists consumer groups (ListGroups; real Kafka only), or for one group its committed\n"
    "offset, end offset and lag per partition (works on every broker).\n"
    "\n"
    "  --describe GROUP    one group's lag per partition\n"
    "  --json              print JSON instead of a table\n" CLI_COMMON_HELP;

static void print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    printf("%s\n", s);
    free(s);
}

static void print_topics(json_t *topics)
{
    printf("%-28s %9s %6s %12s %12s\n", "TOPIC", "PARTITION", "LEADER", "LOG-START", "END");
    size_t i, j;
    json_t *t, *p;
    json_array_foreach(topics, i, t)
    {
        json_array_foreach(json_object_get(t, "partitions"), j, p)
            printf("%-28s %9lld %6lld %12lld %12lld\n",
                   json_string_value(json_object_get(t, "topic")),
                   (long long)json_integer_value(json_object_get(p, "partition")),
                   (long long)json_integer_value(json_object_get(p, "leader")),
                   (long long)json_integer_value(json_object_get(p, "log_start")),
                   (long long)json_integer_value(json_object_get(p, "end")));
    }
}

/* Parses the shared options; returns -1 to go on, else an exit status. */
static int parse(int argc, char **argv, const char *cmd, const char *usage, cli_kafka_t *ck,
                 const char **describe, const char **create, long long *partitions, bool *json)
{
    enum { O_DESCRIBE = 1, O_CREATE, O_PARTITIONS, O_JSON };
    static const struct option longopts[] = {{"describe", required_argument, 0, O_DESCRIBE},
                                             {"create", required_argument, 0, O_CREATE},
                                             {"partitions", required_argument, 0, O_PARTITIONS},
                                             {"json", no_argument, 0, O_JSON},
                                             CLI_COMMON_LONGOPTS,
                                             {0}};
    int opt, r;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
        if ((r = cli_kafka_opt(ck, opt, optarg)) < 0)
            return EXIT_USAGE;
        if (r)
            continue;
        switch (opt) {
        case O_DESCRIBE: *describe = optarg; break;
        case O_CREATE:
            if (!create)
                goto bad;
            *create = optarg;
            break;
        case O_PARTITIONS:
            if (!partitions)
                goto bad;
            if (cli_count(cmd, "--partitions", optarg, partitions) < 0 || *partitions < 1) {
                cli_error(cmd, "--partitions must be at least 1");
                return EXIT_USAGE;
            }
            break;
        case O_JSON: *json = true; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: goto bad;
        }
    }
    if (optind < argc) {
        cli_error(cmd, "unexpected argument \"%s\"", argv[optind]);
        return EXIT_USAGE;
    }
    return -1;
bad:
    fputs(usage, stderr);
    return EXIT_USAGE;
}

int cmd_topics(int argc, char **argv)
{
    cli_kafka_t ck;
    cli_kafka_init(&ck);
    const char *describe = NULL, *create = NULL;
    long long partitions = 3;
    bool json = false;
    int r = parse(argc, argv, "topics", topics_usage, &ck, &describe, &create, &partitions, &json);
    if (r >= 0)
        return r;
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
    const char *describe = NULL;
    bool json = false;
    int r = parse(argc, argv, "groups", groups_usage, &ck, &describe, NULL, NULL, &json);
    if (r >= 0)
        return r;
    kconf_t *k;
    if ((r = cli_kafka_connect(&ck, &k)))
        return r;
    char err[512];
    int rc = EXIT_OK;
    json_t *v = describe ? admin_group_lag(k, describe, NULL, err, sizeof err) : admin_groups(k, err, sizeof err);
    if (!v) {
        cli_error("groups", "%s", err);
        rc = EXIT_FAIL;
    } else if (json) {
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
        printf("%-28s %9s %12s %12s %10s\n", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG");
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(v, "partitions"), i, p)
            printf("%-28s %9lld %12lld %12lld %10lld\n", json_string_value(json_object_get(p, "topic")),
                   (long long)json_integer_value(json_object_get(p, "partition")),
                   (long long)json_integer_value(json_object_get(p, "committed")),
                   (long long)json_integer_value(json_object_get(p, "end")),
                   (long long)json_integer_value(json_object_get(p, "lag")));
    }
    json_decref(v);
    kconf_free(k);
    return rc;
}
