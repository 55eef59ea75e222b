CREATE TEMPORARY VIEW processed_video_frames_view AS
SELECT frame_id, `timestamp`, source, frame_data, frame_width, frame_height,
  frame_channels, frame_size_bytes, event_time,
  -- the decoded JPEG's size from its base64 text
  CHAR_LENGTH(frame_data) / 4 * 3 - CASE WHEN frame_data LIKE '%==' THEN 2
    WHEN frame_data LIKE '%=' THEN 1 ELSE 0 END AS jpeg_bytes,
  -- the original's rules: resolution by pixel count, orientation by aspect ratio
  CASE WHEN frame_width * frame_height >= 1920 * 1080 THEN 'HD'
    WHEN frame_width * frame_height >= 1280 * 720 THEN 'HD_Ready'
    WHEN frame_width * frame_height >= 640 * 480 THEN 'SD' ELSE 'Low' END
    AS resolution_category,
  CASE WHEN frame_width >= 1920 AND frame_height >= 1080 THEN 'HD'
    WHEN frame_width >= 1280 AND frame_height >= 720 THEN 'HD_Ready'
    WHEN frame_width >= 640 AND frame_height >= 480 THEN 'SD' ELSE 'Low' END
    AS resolution_strict,
  CASE WHEN CAST(frame_width AS DOUBLE) / frame_height > 1.5 THEN 'landscape'
    WHEN CAST(frame_width AS DOUBLE) / frame_height < 0.8 THEN 'portrait'
    ELSE 'square' END AS orientation
FROM video_frames
WHERE frame_width >= ${min_width} AND frame_height >= ${min_height}
  AND frame_width > 0 AND frame_height > 0
  AND frame_id IS NOT NULL AND source IS NOT NULL AND frame_data IS NOT NULL
  AND frame_channels IS NOT NULL AND frame_size_bytes IS NOT NULL
  AND TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)) IS NOT NULL
