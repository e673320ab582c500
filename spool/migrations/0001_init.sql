-- Jobs, their documents and the event log.
CREATE TABLE jobs (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: IPP job-ids stay unique
    uuid               TEXT    NOT NULL UNIQUE,
    virtual_printer    TEXT    NOT NULL,
    name               TEXT    NOT NULL DEFAULT '',
    owner              TEXT    NOT NULL DEFAULT '',
    origin_host        TEXT    NOT NULL DEFAULT '',
    origin             TEXT    NOT NULL DEFAULT '',
    lane               TEXT    NOT NULL DEFAULT 'interactive',
    lane_rank          INTEGER NOT NULL DEFAULT 0,  -- 0 interactive, 1 bulk: scheduling order
    priority           INTEGER NOT NULL DEFAULT 50,
    run_id             INTEGER NOT NULL DEFAULT 0,
    seq                INTEGER NOT NULL DEFAULT 0,
    state              TEXT    NOT NULL,
    state_reason       TEXT    NOT NULL DEFAULT '',
    printer            TEXT    NOT NULL DEFAULT '',
    pages              INTEGER NOT NULL DEFAULT 0,
    pages_estimated    INTEGER NOT NULL DEFAULT 0,
    attributes         TEXT    NOT NULL DEFAULT '{}',
    attempts           INTEGER NOT NULL DEFAULT 0,
    possible_duplicate INTEGER NOT NULL DEFAULT 0,
    upstream_id        TEXT    NOT NULL DEFAULT '',
    impressions_done   INTEGER NOT NULL DEFAULT 0,
    created            INTEGER NOT NULL,            -- unix nanoseconds
    updated            INTEGER NOT NULL,
    started            INTEGER NOT NULL DEFAULT 0,
    finished           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_by_state    ON jobs (state, lane_rank, priority DESC, run_id, seq, id);
CREATE INDEX jobs_by_printer  ON jobs (printer, state);
CREATE INDEX jobs_by_virtual  ON jobs (virtual_printer, state);
CREATE INDEX jobs_by_run      ON jobs (run_id, seq);
CREATE INDEX jobs_by_finished ON jobs (finished);

CREATE TABLE documents (
    job_id          INTEGER NOT NULL REFERENCES jobs (id),
    seq             INTEGER NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    format          TEXT    NOT NULL DEFAULT 'application/octet-stream',
    size            INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,
    pages           INTEGER NOT NULL DEFAULT 0,
    pages_estimated INTEGER NOT NULL DEFAULT 0,
    path            TEXT    NOT NULL,               -- relative to the spool directory
    deleted         INTEGER NOT NULL DEFAULT 0,     -- when retention removed the file
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    job_id     INTEGER NOT NULL DEFAULT 0,
    printer    TEXT    NOT NULL DEFAULT '',
    run_id     INTEGER NOT NULL DEFAULT 0,
    from_state TEXT    NOT NULL DEFAULT '',
    to_state   TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    message    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_by_job     ON events (job_id) WHERE job_id <> 0;
CREATE INDEX events_by_printer ON events (printer, id) WHERE printer <> '';
CREATE INDEX events_by_kind    ON events (kind, id);

-- Operator switches that must survive a restart: drained printers, paused virtual printers.
CREATE TABLE controls (
    scope  TEXT    NOT NULL, -- 'printer' or 'virtual'
    name   TEXT    NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    actor  TEXT    NOT NULL DEFAULT '',
    at     INTEGER NOT NULL,
    PRIMARY KEY (scope, name)
);
