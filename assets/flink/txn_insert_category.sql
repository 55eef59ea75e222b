INSERT INTO ${table}
SELECT category, CAST(SUM(final_amount) AS DOUBLE), COUNT(*),
  DATE_FORMAT(window_start, 'yyyy-MM-dd''T''HH:mm:ss.SSS') || '000',
  DATE_FORMAT(window_end, 'yyyy-MM-dd''T''HH:mm:ss.SSS') || '000'
FROM ${window}
GROUP BY category, window_start, window_end
