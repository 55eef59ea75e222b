CREATE TEMPORARY TABLE transactions (
  transaction_id STRING,
  user_id STRING,
  product STRING,
  category STRING,
  amount DECIMAL(22, 8),
  quantity BIGINT,
  payment_method STRING,
  `timestamp` STRING,
  location STRING,
${event_time_columns}
) WITH (
${kafka_with},
  'properties.group.id' = '${group}',
${source_tail}
)
