SET 'parallelism.default' = '${parallelism}'
