SELECT transaction_id, user_id, product, category, CAST(amount AS DOUBLE), quantity,
  payment_method, `timestamp`, location, CAST(amount AS DOUBLE), discount_applied,
  CAST(final_amount AS DOUBLE), REPLACE(CAST(LOCALTIMESTAMP AS STRING), ' ', 'T')
