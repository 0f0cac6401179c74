-- Run once when a control database made by the numbered migrations before
-- the squash (db/legacy/control-head.json) is adopted, as wact_owner, in the
-- transaction that records the baseline. The control baseline is exactly what
-- those migrations left: nothing to change.
SELECT 1;
