-- databases: control, regional
-- This month's and next month's audit partitions exist before the first
-- append needs them (appends create a missing one too; see audit.ensure_partition).
SELECT audit.ensure_partition(now());
SELECT audit.ensure_partition(now() + interval '1 month');
