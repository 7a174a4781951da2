-- Revenue by month: the API's grouping written by hand (the same GROUP BY: payments joined to
-- their contract's currency, months of the payment date); what bench/dashboards.sh compares
-- the API with.
SELECT date_trunc('month', p.payment_date::timestamp)::date AS month, c.currency, count(*), sum(p.amount)
FROM payments p LEFT JOIN contracts c ON c.id = p.contract_id
WHERE p.status = 'completed'
GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 101;
