INSERT INTO ${table}
SELECT user_id, CAST(SUM(final_amount) AS DOUBLE), COUNT(*),
  REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')
FROM processed_transactions_view
GROUP BY user_id
