  'scan.startup.mode' = 'earliest-offset',
${bounded}
  'scan.watermark.emit.strategy' = 'on-event',
  'format' = 'json',
  'json.ignore-parse-errors' = 'true'
