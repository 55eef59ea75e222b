CREATE TEMPORARY TABLE ${table} (
  category STRING,
  total_amount DOUBLE,
  transaction_count BIGINT,
  window_start STRING,
  window_end STRING
) WITH (
${kafka_with},
  'key.format' = 'raw',
  'key.fields' = 'category',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
