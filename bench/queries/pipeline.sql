-- Pipeline by status: the API's grouping written by hand; what bench/dashboards.sh compares the
-- API with.
SELECT status, currency, count(*), sum(amount) FROM contracts GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 21;
