INSERT INTO ${table}
SELECT frame_id, `timestamp`, source, frame_data, frame_width, frame_height,
  frame_channels, frame_size_bytes,
  ROW(ROUND(CAST(frame_width AS DOUBLE) / frame_height, 2), frame_width * frame_height,
    ROUND(CAST(jpeg_bytes AS DOUBLE) / (frame_width * frame_height * 3), 3),
    orientation, resolution_category, resolution_strict, CAST(jpeg_bytes AS BIGINT),
    CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE),
    REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')),
  source || ' frame ' || CAST(frame_width AS STRING) || 'x' || CAST(frame_height AS STRING)
    || ': ' || resolution_category || ', ' || orientation
    || ', brightness n/a, contrast n/a (Flink SQL twin)',
  CASE source WHEN 'webcam' THEN 30 WHEN 'video_file' THEN 25
    WHEN 'sample_generator' THEN 1 ELSE 30 END,
  REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')
FROM processed_video_frames_view
