TABLE(SESSION(TABLE ${view} PARTITION BY ${key},
      DESCRIPTOR(event_time), INTERVAL '${gap_seconds}' SECOND))
