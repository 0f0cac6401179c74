-- databases: regional
-- Ingest partitions from yesterday (clock skew at midnight) to two weeks
-- ahead; the services keep creating them hourly (wact_private.ensure_ingest_partitions).
SELECT wact_private.ensure_ingest_partitions(current_date - 1, 15);
