CREATE TEMPORARY TABLE ${table} (
  frame_id STRING,
  `timestamp` STRING,
  source STRING,
  frame_data STRING,
  frame_width BIGINT,
  frame_height BIGINT,
  frame_channels BIGINT,
  frame_size_bytes BIGINT,
  analysis ROW<aspect_ratio DOUBLE, total_pixels BIGINT, compression_ratio DOUBLE,
    orientation STRING, resolution_category STRING, resolution_strict STRING,
    jpeg_bytes BIGINT, brightness DOUBLE, contrast DOUBLE, processing_timestamp STRING>,
  processing_notes STRING,
  expected_fps INT,
  flink_processing_time STRING
) WITH (
${kafka_with},
  'key.format' = 'raw',
  'key.fields' = 'source',
  'value.format' = 'json',
  'value.fields-include' = 'ALL'
)
