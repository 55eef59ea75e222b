CREATE TEMPORARY TABLE ${table} (
  resolution_category STRING,
  frame_count BIGINT,
  total_size_bytes BIGINT,
  avg_brightness DOUBLE,
  window_start STRING,
  window_end STRING
) WITH (
${kafka_with},
  'key.format' = 'raw',
  'key.fields' = 'resolution_category',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
