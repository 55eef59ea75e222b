CREATE TEMPORARY VIEW valid_transactions AS
-- every transaction streamlab parses (the pattern comes before its amount filter)
SELECT * FROM transactions
WHERE amount >= 0 AND amount <= 1000000000000
  AND transaction_id IS NOT NULL AND user_id IS NOT NULL AND product IS NOT NULL
  AND category IS NOT NULL AND quantity IS NOT NULL AND payment_method IS NOT NULL
  AND location IS NOT NULL
  AND TRY_CAST(REPLACE(`timestamp`, 'T', ' ') AS TIMESTAMP(3)) IS NOT NULL
