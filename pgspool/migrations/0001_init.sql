-- The PostgreSQL spool: the same rows as the SQLite driver's, plus the bytes of every
-- document (document_chunks) so that any gateway can send any job. Times are unix
-- nanoseconds (BIGINT), as in SQLite, so that both drivers read back exactly what they wrote.

-- One row: who this spool is, for the cluster-wide printer-uuid.
CREATE TABLE spool_cluster (
    only_one   BOOLEAN PRIMARY KEY DEFAULT true CHECK (only_one),
    cluster_id UUID    NOT NULL DEFAULT gen_random_uuid(),
    created    BIGINT  NOT NULL
);

CREATE TABLE jobs (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- one sequence for the cluster
    uuid               TEXT    NOT NULL UNIQUE,
    virtual_printer    TEXT    NOT NULL,
    name               TEXT    NOT NULL DEFAULT '',
    owner              TEXT    NOT NULL DEFAULT '',
    origin_host        TEXT    NOT NULL DEFAULT '',
    origin             TEXT    NOT NULL DEFAULT '',
    lane               TEXT    NOT NULL DEFAULT 'interactive',
    lane_rank          INTEGER NOT NULL DEFAULT 0,
    priority           INTEGER NOT NULL DEFAULT 50,
    run_id             BIGINT  NOT NULL DEFAULT 0,
    seq                BIGINT  NOT NULL DEFAULT 0,
    state              TEXT    NOT NULL,
    state_reason       TEXT    NOT NULL DEFAULT '',
    printer            TEXT    NOT NULL DEFAULT '',
    pages              INTEGER NOT NULL DEFAULT 0,
    pages_estimated    BOOLEAN NOT NULL DEFAULT false,
    attributes         TEXT    NOT NULL DEFAULT '{}',
    attempts           INTEGER NOT NULL DEFAULT 0,
    possible_duplicate BOOLEAN NOT NULL DEFAULT false,
    upstream_id        TEXT    NOT NULL DEFAULT '',
    impressions_done   INTEGER NOT NULL DEFAULT 0,
    -- The gateway that last moved the job: the one whose restart recovers it (until
    -- per-printer leases decide that).
    gateway            TEXT    NOT NULL DEFAULT '',
    -- A client's idempotency key: a retried submission finds its job instead of making one.
    idempotency_key    TEXT,
    created            BIGINT  NOT NULL,
    updated            BIGINT  NOT NULL,
    started            BIGINT  NOT NULL DEFAULT 0,
    finished           BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_state    ON jobs (state, lane_rank, priority DESC, run_id, seq, id);
CREATE INDEX jobs_by_printer  ON jobs (printer, state);
CREATE INDEX jobs_by_virtual  ON jobs (virtual_printer, state);
CREATE INDEX jobs_by_run      ON jobs (run_id, seq);
CREATE INDEX jobs_by_run_state ON jobs (run_id, state);
CREATE INDEX jobs_by_finished ON jobs (finished);
CREATE INDEX jobs_by_owner    ON jobs (owner);
CREATE INDEX jobs_by_gateway  ON jobs (gateway, state);
CREATE INDEX jobs_possible_duplicate ON jobs (id) WHERE possible_duplicate;
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE documents (
    job_id          BIGINT  NOT NULL REFERENCES jobs (id),
    seq             INTEGER NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    format          TEXT    NOT NULL DEFAULT 'application/octet-stream',
    size            BIGINT  NOT NULL,
    sha256          TEXT    NOT NULL,
    pages           INTEGER NOT NULL DEFAULT 0,
    pages_estimated BOOLEAN NOT NULL DEFAULT false,
    chunks          INTEGER NOT NULL,               -- rows in document_chunks
    deleted         BIGINT  NOT NULL DEFAULT 0,     -- when retention removed the bytes
    PRIMARY KEY (job_id, seq)
);

-- A document's bytes, in chunks of at most chunkSize (256 KiB): written and read a chunk at a
-- time, so neither the gateway nor the server holds a whole document in memory.
CREATE TABLE document_chunks (
    job_id BIGINT  NOT NULL,
    seq    INTEGER NOT NULL,
    chunk  INTEGER NOT NULL,
    bytes  BYTEA   NOT NULL,
    PRIMARY KEY (job_id, seq, chunk)
);
-- Bytes are written once and never updated: no compression attempt on already compressed
-- PDFs, stored out of line.
ALTER TABLE document_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;

CREATE TABLE events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    job_id     BIGINT NOT NULL DEFAULT 0,
    printer    TEXT   NOT NULL DEFAULT '',
    run_id     BIGINT NOT NULL DEFAULT 0,
    from_state TEXT   NOT NULL DEFAULT '',
    to_state   TEXT   NOT NULL DEFAULT '',
    actor      TEXT   NOT NULL DEFAULT '',
    message    TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX events_by_job     ON events (job_id) WHERE job_id <> 0;
CREATE INDEX events_by_printer ON events (printer, id) WHERE printer <> '';
CREATE INDEX events_by_kind    ON events (kind, id);
CREATE INDEX events_by_run     ON events (run_id, id) WHERE run_id <> 0;

CREATE TABLE controls (
    scope  TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    paused BOOLEAN NOT NULL DEFAULT false,
    actor  TEXT    NOT NULL DEFAULT '',
    at     BIGINT  NOT NULL,
    PRIMARY KEY (scope, name)
);

CREATE TABLE runs (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT    NOT NULL,
    virtual_printer TEXT    NOT NULL,
    owner           TEXT    NOT NULL DEFAULT '',
    origin_host     TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL,
    schedule_id     BIGINT  NOT NULL DEFAULT 0,
    start_at        BIGINT  NOT NULL DEFAULT 0,
    attributes      TEXT    NOT NULL DEFAULT '{}',
    separator       BOOLEAN NOT NULL DEFAULT false,
    letters         INTEGER NOT NULL DEFAULT 0,
    pages           INTEGER NOT NULL DEFAULT 0,
    gateway         TEXT    NOT NULL DEFAULT '',    -- the gateway receiving the upload
    idempotency_key TEXT,                           -- a retried CreateRun finds its run
    created         BIGINT  NOT NULL,
    updated         BIGINT  NOT NULL,
    committed       BIGINT  NOT NULL DEFAULT 0,
    finished        BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_state ON runs (state, id);
CREATE UNIQUE INDEX runs_by_idempotency_key ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL;

CREATE TABLE run_schedules (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT    NOT NULL,
    virtual_printer TEXT    NOT NULL,
    owner           TEXT    NOT NULL DEFAULT '',
    spec            TEXT    NOT NULL,
    dir             TEXT    NOT NULL,
    attributes      TEXT    NOT NULL DEFAULT '{}',
    separator       BOOLEAN NOT NULL DEFAULT false,
    created         BIGINT  NOT NULL,
    last_fired      BIGINT  NOT NULL DEFAULT 0,
    deleted         BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE run_schedule_seen (
    schedule_id BIGINT NOT NULL,
    sha256      TEXT   NOT NULL,
    run_id      BIGINT NOT NULL,
    source      TEXT   NOT NULL DEFAULT '',
    seen        BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, sha256)
);
