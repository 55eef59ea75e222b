INSERT INTO ${table}
${processed_select}
FROM processed_transactions_view
WHERE amount > ${high_value}
