  'scan.bounded.mode' = 'latest-offset',
