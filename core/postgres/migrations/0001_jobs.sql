-- Version 1: jobs, counters, worker values.
--
-- Applied by `PgStore::open` inside a transaction holding an advisory lock, with
-- `search_path` set to the store's schema, so every name below lands in that schema.
-- Times are milliseconds since the Unix epoch (tenax's `Timestamp`), set by the store's
-- clock, never by `now()` here: one clock for every host and for tests.

-- Ids and lease tokens: increasing, never reused.
CREATE SEQUENCE job_id;
CREATE SEQUENCE lease_token;

-- One row per job that has not completed (or been purged). `state` says where it is.
CREATE TABLE jobs (
    id               bigint PRIMARY KEY,
    queue            text COLLATE "C" NOT NULL,
    kind             text COLLATE "C" NOT NULL,
    payload          bytea NOT NULL,
    dedup_key        text COLLATE "C",
    -- Whether this job holds its dedup key: a running job loses it to a newer job that
    -- replaces its payload, and a dead job gives it up.
    dedup_held       boolean NOT NULL DEFAULT false,
    state            text NOT NULL CHECK (state IN ('pending', 'running', 'dead')),
    attempt          integer NOT NULL DEFAULT 0,
    crashes          integer NOT NULL DEFAULT 0,
    run_at           bigint NOT NULL,
    enqueued_at      bigint NOT NULL,
    error_class      text COLLATE "C",
    error_message    text,
    error_at         bigint,
    dead_at          bigint,
    -- The last attempts, oldest first: a JSON array of objects (see `history.rs`).
    attempts         jsonb NOT NULL DEFAULT '[]',
    -- The lease of a running job: its fence (checked by every outcome), the node
    -- holding it, when it was claimed and when it expires.
    lease_token      bigint,
    lease_owner      text,
    claimed_at       bigint,
    lease_expires_at bigint,
    -- An operator cancelled the running job: its retry, release or rescue buries it.
    cancelled        boolean NOT NULL DEFAULT false,
    CHECK ((state = 'running') = (lease_token IS NOT NULL)),
    CHECK ((state = 'dead') = (dead_at IS NOT NULL)),
    CHECK (NOT dedup_held OR (dedup_key IS NOT NULL AND state <> 'dead'))
);

-- Due order: what `claim` and `next_due` read.
CREATE INDEX jobs_due ON jobs (queue, run_at, id) WHERE state = 'pending';
-- Leases by holder and expiry: rescue.
CREATE INDEX jobs_leases ON jobs (lease_owner, lease_expires_at) WHERE state = 'running';
-- Dead letters in death order.
CREATE INDEX jobs_dead ON jobs (dead_at, id) WHERE state = 'dead';
-- One holder per dedup key and queue.
CREATE UNIQUE INDEX jobs_dedup ON jobs (queue, dedup_key) WHERE dedup_held;

-- Counter changes, one row per transition and queue, written in the transition's own
-- transaction: the sums are the counters, so they cannot drift from the rows. Rows are
-- only ever inserted by transitions (no row lock is shared between two of them);
-- maintenance folds them into one row per queue now and then.
CREATE TABLE counts (
    queue     text COLLATE "C" NOT NULL,
    waiting   bigint NOT NULL DEFAULT 0,
    retrying  bigint NOT NULL DEFAULT 0,
    running   bigint NOT NULL DEFAULT 0,
    dead      bigint NOT NULL DEFAULT 0,
    completed bigint NOT NULL DEFAULT 0,
    enqueued  bigint NOT NULL DEFAULT 0
);

-- Named worker values (breaker state, queue controls, schedule marks).
CREATE TABLE worker_state (
    key   text COLLATE "C" PRIMARY KEY,
    value bytea NOT NULL
);

-- The stores that opened this schema, by node name, and when each last wrote here
-- (at open, and at each flush, whose synchronous write makes every earlier
-- transition durable).
CREATE TABLE nodes (
    node    text COLLATE "C" PRIMARY KEY,
    seen_at bigint NOT NULL
);
