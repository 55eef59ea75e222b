CREATE TEMPORARY TABLE ${table} (
  source STRING,
  total_frames BIGINT,
  total_size_bytes BIGINT,
  avg_width DOUBLE,
  avg_height DOUBLE,
  last_updated STRING,
  PRIMARY KEY (source) NOT ENFORCED
) WITH (
${kafka_with},
  'key.format' = 'raw',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
