-- Overdue payments by age: the API's grouping written by hand (pending payments per bucket of
-- days since their day of payment, and their contract's currency); what bench/dashboards.sh
-- compares the API with.
SELECT CASE WHEN p.payment_date >= CURRENT_DATE THEN 0 WHEN p.payment_date >= CURRENT_DATE - 30 THEN 1
            WHEN p.payment_date >= CURRENT_DATE - 60 THEN 2 WHEN p.payment_date >= CURRENT_DATE - 90 THEN 3
            ELSE 4 END AS age,
       c.currency, count(*), sum(p.amount)
FROM payments p LEFT JOIN contracts c ON c.id = p.contract_id
WHERE p.status = 'pending'
GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 21;
