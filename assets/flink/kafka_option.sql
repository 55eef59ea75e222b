  '${key}' = '${value}'
