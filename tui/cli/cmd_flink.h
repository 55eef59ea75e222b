/* cmd_flink.h — the subcommands of `streamlab flink` (argc/argv start at the
 * subcommand's name). */
#ifndef STREAMLAB_CMD_FLINK_H
#define STREAMLAB_CMD_FLINK_H

int cmd_flink_sql(int argc, char **argv);    /* cmd_flink_sql.c */
int cmd_flink_submit(int argc, char **argv); /* cmd_flink_sql.c */
int cmd_flink_jobs(int argc, char **argv);   /* cmd_flink_jobs.c */
int cmd_flink_cancel(int argc, char **argv); /* cmd_flink_jobs.c */

#endif
