-- Pipeline by status: the API's grouping written by hand (contracts not archived, as the API
-- counts them); what bench/dashboards.sh compares the API with.
SELECT status, currency, count(*), sum(amount) FROM contracts WHERE archived_at IS NULL
GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 21;
