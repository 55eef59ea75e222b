CREATE TEMPORARY TABLE ${table} (
  user_id STRING,
  `pattern` STRING,
  first_transaction_id STRING,
  second_transaction_id STRING,
  first_amount DOUBLE,
  second_amount DOUBLE,
  first_timestamp STRING,
  second_timestamp STRING,
  detected_at STRING
) WITH (
${kafka_with},
  'key.format' = 'raw',
  'key.fields' = 'user_id',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
