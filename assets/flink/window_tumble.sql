TABLE(TUMBLE(TABLE ${view}, DESCRIPTOR(event_time),
      INTERVAL '${window_seconds}' SECOND))
