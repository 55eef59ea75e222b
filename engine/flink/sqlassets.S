/* sqlassets.S — the Flink SQL twin's templates (the .sql files in assets/flink/), embedded
 * in the binary so that it runs from anywhere (see sqlassets.h). Each template NAME becomes
 * the NUL-terminated bytes of assets/flink/NAME.sql under the symbol sqlasset_NAME. A
 * template listed here whose file is missing fails the build (the assembler cannot open
 * it); one declared in sqlassets.h but not listed here fails the link. */
    .section .rodata

    .macro sqlasset name
    .global sqlasset_\name
sqlasset_\name:
    .incbin "assets/flink/\name\().sql"
    .byte 0
    .endm

    /* the SET statements */
    sqlasset set_pipeline_name
    sqlasset set_parallelism
    sqlasset set_state_ttl
    /* pieces every pipeline's tables and windows share */
    sqlasset kafka_with
    sqlasset kafka_option
    sqlasset event_time_columns
    sqlasset source_tail
    sqlasset source_bounded
    sqlasset window_tumble
    sqlasset window_hop
    sqlasset window_session
    sqlasset statement_set
    /* the transactions pipeline */
    sqlasset txn_source
    sqlasset txn_view
    sqlasset txn_processed_table
    sqlasset txn_user_table
    sqlasset txn_category_table
    sqlasset txn_processed_select
    sqlasset txn_insert_processed
    sqlasset txn_insert_high_value
    sqlasset txn_insert_user
    sqlasset txn_insert_category
    sqlasset txn_fraud_table
    sqlasset txn_valid_view
    sqlasset txn_insert_fraud
    /* the video pipeline */
    sqlasset video_source
    sqlasset video_view
    sqlasset video_processed_table
    sqlasset video_sources_table
    sqlasset video_windows_table
    sqlasset video_insert_processed
    sqlasset video_insert_sources
    sqlasset video_insert_windows

    .section .note.GNU-stack,"",@progbits
