INSERT INTO ${table}
SELECT user_id, 'small_then_large', first_transaction_id, second_transaction_id,
  CAST(first_amount AS DOUBLE), CAST(second_amount AS DOUBLE), first_timestamp,
  second_timestamp, REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')
FROM (
  -- every transaction streamlab parses (its filter comes later, in the view)
  SELECT * FROM transactions
  WHERE amount >= 0 AND amount <= 1000000000000
    AND transaction_id IS NOT NULL AND user_id IS NOT NULL AND product IS NOT NULL
    AND category IS NOT NULL AND quantity IS NOT NULL AND payment_method IS NOT NULL
    AND location IS NOT NULL
    AND TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)) IS NOT NULL
) MATCH_RECOGNIZE (
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
  PATTERN (A B) WITHIN INTERVAL '${within_seconds}' SECOND
  DEFINE
    A AS A.amount < ${fraud_small},
    B AS B.amount > ${fraud_large}
)
