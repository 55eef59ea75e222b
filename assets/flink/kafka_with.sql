  'connector' = '${connector}',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${brokers}'${options}
