CREATE TEMPORARY TABLE ${table} (
  transaction_id STRING,
  user_id STRING,
  product STRING,
  category STRING,
  amount DOUBLE,
  quantity BIGINT,
  payment_method STRING,
  `timestamp` STRING,
  location STRING,
  original_amount DOUBLE,
  discount_applied DOUBLE,
  final_amount DOUBLE,
  processing_timestamp STRING
) WITH (
${kafka_with},
  'key.format' = 'raw',
  'key.fields' = 'user_id',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
