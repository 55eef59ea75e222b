SET 'pipeline.name' = '${job_name}'
