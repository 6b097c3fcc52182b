-- Statements of src/hmis/report/queries.py, each under its name line (loaded by hmis.platform.warehouse.statement).

-- name: latest_period
SELECT max(s.period) FROM compliance.facility_status s JOIN ref.facility f USING (facility_id)
    WHERE %(district)s::text IS NULL OR f.district = %(district)s;

-- name: reporting_rates
SELECT level, area, period, expected, reported, on_time, reporting_rate, on_time_rate
     FROM marts.reporting_rates
    WHERE period = ANY(%(periods)s)
      AND ((level = 'block' AND district = %(district)s) OR (level = 'district' AND area = %(district)s));

-- name: facility_statuses
SELECT f.facility_id, f.name, f.facility_type, f.ownership, f.block,
          s.period, s.status, s.submitted_at, s.due_at
     FROM compliance.facility_status s JOIN ref.facility f USING (facility_id)
    WHERE f.district = %s AND s.period = ANY(%s)
    ORDER BY f.block, f.name, f.facility_id, s.period;

-- name: block_contacts
SELECT area, name, email, phone FROM ref.contact
    WHERE level = 'block' AND role = 'block_medical_officer' AND area = ANY(%s)
    ORDER BY area, name;

-- name: ultrasound_compliance
SELECT u.facility_id, f.name, f.block, u.scans, u.scans_with_valid_rch, u.share_valid,
          u.threshold, u.below_threshold
     FROM marts.ultrasound_compliance u JOIN ref.facility f USING (facility_id)
    WHERE f.district = %s AND u.period = %s
    ORDER BY u.below_threshold DESC, u.share_valid NULLS FIRST, f.name;

-- name: disease_signals
-- would_alarm and completeness: a provisional month's rise is shown as such, never as an alarm.
SELECT area_level, area, item_code, period, method, observed, expected, upper_bound, alarm,
          would_alarm, completeness
     FROM marts.disease_signals
    WHERE district = %s AND period = ANY(%s)
    ORDER BY area_level DESC, area, item_code, period, method;

-- name: district_disease_counts
SELECT 'district', district, item_code, period, value FROM marts.district_monthly
    WHERE district = %(district)s AND item_code = ANY(%(items)s) AND period = ANY(%(periods)s)
      AND disaggregation = 'TOTAL';

-- name: block_disease_counts
SELECT 'block', block, item_code, period, value FROM marts.block_monthly
    WHERE district = %(district)s AND item_code = ANY(%(items)s) AND period = ANY(%(periods)s)
      AND disaggregation = 'TOTAL';

-- name: portal_reconciliation
SELECT basis, pull_key, portal_status_as_on, item_code, disaggregation, our_value, portal_value, difference, status
     FROM marts.portal_reconciliation
    WHERE district = %s AND period = %s
    ORDER BY basis DESC, item_code, disaggregation;
