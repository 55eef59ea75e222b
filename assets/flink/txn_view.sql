CREATE TEMPORARY VIEW processed_transactions_view AS
SELECT transaction_id, user_id, product, category, amount, quantity, payment_method,
  `timestamp`, location, event_time,
  -- the original's discount_applied: the multiplier (final = amount * it)
  CASE category WHEN 'electronics' THEN 0.95 WHEN 'books' THEN 0.90
    WHEN 'clothing' THEN 0.92 ELSE 1.0 END AS discount_applied,
  -- DECIMAL arithmetic, rounded half-up to the cent by the cast
  CAST(CASE category WHEN 'electronics' THEN amount * 0.95 WHEN 'books' THEN amount * 0.90
    WHEN 'clothing' THEN amount * 0.92 ELSE amount END AS DECIMAL(20, 2)) AS final_amount
FROM transactions
WHERE amount > ${filter_amount}
  AND amount <= 1000000000000
  AND transaction_id IS NOT NULL AND user_id IS NOT NULL AND product IS NOT NULL
  AND category IS NOT NULL AND quantity IS NOT NULL AND payment_method IS NOT NULL
  AND location IS NOT NULL
  AND TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)) IS NOT NULL
