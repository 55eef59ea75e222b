INSERT INTO ${table}
${processed_select}
FROM processed_transactions_view
