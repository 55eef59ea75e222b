INSERT INTO ${table}
SELECT resolution_category, COUNT(*), SUM(frame_size_bytes), CAST(NULL AS DOUBLE),
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS') || '000',
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS') || '000'
FROM ${window}
GROUP BY resolution_category, window_start, window_end
