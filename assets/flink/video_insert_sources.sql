INSERT INTO ${table}
SELECT source, COUNT(*), SUM(frame_size_bytes),
  ROUND(AVG(CAST(frame_width AS DOUBLE)), 2), ROUND(AVG(CAST(frame_height AS DOUBLE)), 2),
  REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')
FROM processed_video_frames_view
GROUP BY source
