SET 'table.exec.state.ttl' = '${state_ttl_ms} ms'
