  event_time AS COALESCE(TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)),
                         TIMESTAMP '1970-01-01 00:00:00'),
  -- streamlab's watermark: max event time - out-of-orderness - 1 ms
  WATERMARK FOR event_time AS event_time - INTERVAL '${watermark_seconds}' SECOND
