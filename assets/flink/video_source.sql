CREATE TEMPORARY TABLE video_frames (
  frame_id STRING,
  `timestamp` STRING,
  source STRING,
  frame_data STRING,
  frame_width BIGINT,
  frame_height BIGINT,
  frame_channels BIGINT,
  frame_size_bytes BIGINT,
${event_time_columns}
) WITH (
${kafka_with},
  'properties.group.id' = '${group}-video',
${source_tail}
)
