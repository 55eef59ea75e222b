INSERT INTO ${table}
SELECT user_id, 'small_then_large', first_transaction_id, second_transaction_id,
  CAST(first_amount AS DOUBLE), CAST(second_amount AS DOUBLE), first_timestamp,
  second_timestamp, REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')
FROM valid_transactions
MATCH_RECOGNIZE (
  PARTITION BY user_id
  ORDER BY event_time
  MEASURES
    A.transaction_id AS first_transaction_id,
    B.transaction_id AS second_transaction_id,
    A.amount AS first_amount,
    B.amount AS second_amount,
    A.`timestamp` AS first_timestamp,
    B.`timestamp` AS second_timestamp
  ONE ROW PER MATCH
  AFTER MATCH SKIP PAST LAST ROW
  -- B.event_time - A.event_time <= the bound: Flink's WITHIN drops a partial match
  -- once an event is `bound` or more after its start, so the twin's bound is 1 ms more
  PATTERN (A B) WITHIN INTERVAL '${within_seconds}' SECOND${within_precision}
  DEFINE
    A AS A.amount < ${fraud_small},
    B AS B.amount > ${fraud_large}
)
