TABLE(HOP(TABLE ${view}, DESCRIPTOR(event_time),
      INTERVAL '${slide_seconds}' SECOND, INTERVAL '${window_seconds}' SECOND))
