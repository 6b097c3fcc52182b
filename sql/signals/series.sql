-- The disease series of src/hmis/signals/series.py, each under its name line (loaded by hmis.platform.warehouse.statement).
--
-- counts: per district, block, month and watched disease element (%(elements)s, from
-- hmis/reference/diseases.yaml), the accepted count summed over the facilities that reported
-- it, beside the outpatient visits (%(visit_elements)s: allopathic + AYUSH) of those same
-- facilities that month. Only plain counts (disaggregation TOTAL) are series; a facility
-- that did not report the disease adds neither cases nor visits, so a missing report does
-- not lower the district's rate.

-- name: counts
WITH visits AS (
    SELECT facility_id, period, sum(value) AS visits FROM facts.monthly_value
     WHERE item_code = ANY(%(visit_elements)s) AND disaggregation = 'TOTAL'
     GROUP BY facility_id, period)
SELECT f.district, f.block, v.period, v.item_code, sum(v.value)::bigint, coalesce(sum(o.visits), 0)::bigint
  FROM facts.monthly_value v
  JOIN ref.facility f USING (facility_id)
  LEFT JOIN visits o ON o.facility_id = v.facility_id AND o.period = v.period
 WHERE v.item_code = ANY(%(elements)s) AND v.disaggregation = 'TOTAL' AND v.value IS NOT NULL
 GROUP BY f.district, f.block, v.period, v.item_code;
