CREATE TEMPORARY TABLE ${table} (
  user_id STRING,
  total_spent DOUBLE,
  transaction_count BIGINT,
  last_updated STRING,
  PRIMARY KEY (user_id) NOT ENFORCED
) WITH (
${kafka_with},
  'key.format' = 'raw',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
