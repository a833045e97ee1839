-- Version 2: what stores on several hosts share besides the jobs.

-- Worker values are written by compare-and-set: every write moves the version, and a
-- conditional write names the version it read (see `shared.rs`). Rows written before
-- this version read as version 0.
ALTER TABLE worker_state ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- Token buckets of rate limits, one row per bucket, so that a rate holds in total
-- across hosts. `granted` is what the last take handed out (returned with it).
CREATE TABLE buckets (
    name        text COLLATE "C" PRIMARY KEY,
    tokens      double precision NOT NULL,
    refilled_at bigint NOT NULL,
    tag         bigint NOT NULL,
    capacity    double precision NOT NULL,
    granted     double precision NOT NULL DEFAULT 0
);

-- Running jobs by queue and expiry: the rescue of expired leases.
CREATE INDEX jobs_expiry ON jobs (queue, lease_expires_at) WHERE state = 'running';
