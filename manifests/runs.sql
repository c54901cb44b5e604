-- version: 1
-- Lineage: one row per stage run, written when it starts and rewritten when it finishes.
CREATE TABLE runs (
    run_id VARCHAR,
    stage VARCHAR,
    started TIMESTAMP WITH TIME ZONE,
    finished TIMESTAMP WITH TIME ZONE,  -- NULL while running, or when the run was killed
    params JSON,
    code_version VARCHAR,
    rows_in BIGINT,
    rows_out BIGINT
);
