/* sqlassets.h — the Flink SQL twin's templates, embedded in the binary by sqlassets.S:
 * sqlasset_NAME is the text of assets/flink/NAME.sql, NUL-terminated, read-only, for the
 * life of the program. Fill one with sqltpl_fill (sqltpl.h). A template added here must be
 * listed in sqlassets.S too, or the link fails. */
#ifndef STREAMLAB_SQLASSETS_H
#define STREAMLAB_SQLASSETS_H

/* the SET statements */
extern const char sqlasset_set_pipeline_name[], sqlasset_set_parallelism[],
    sqlasset_set_state_ttl[];
/* pieces every pipeline's tables and windows share */
extern const char sqlasset_kafka_with[], sqlasset_kafka_option[], sqlasset_event_time_columns[],
    sqlasset_source_tail[], sqlasset_source_bounded[], sqlasset_window_tumble[],
    sqlasset_window_hop[], sqlasset_window_session[], sqlasset_statement_set[];
/* the transactions pipeline */
extern const char sqlasset_txn_source[], sqlasset_txn_view[], sqlasset_txn_processed_table[],
    sqlasset_txn_user_table[], sqlasset_txn_category_table[], sqlasset_txn_processed_select[],
    sqlasset_txn_insert_processed[], sqlasset_txn_insert_high_value[], sqlasset_txn_insert_user[],
    sqlasset_txn_insert_category[], sqlasset_txn_fraud_table[], sqlasset_txn_valid_view[],
    sqlasset_txn_insert_fraud[];
/* the video pipeline */
extern const char sqlasset_video_source[], sqlasset_video_view[], sqlasset_video_processed_table[],
    sqlasset_video_sources_table[], sqlasset_video_windows_table[],
    sqlasset_video_insert_processed[], sqlasset_video_insert_sources[],
    sqlasset_video_insert_windows[];

#endif
