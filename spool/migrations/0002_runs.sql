-- Bulk runs: a named set of letters (jobs with lane 'bulk', run_id and seq) and the cron
-- schedules that create runs from a drop folder.
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    virtual_printer TEXT    NOT NULL,
    owner           TEXT    NOT NULL DEFAULT '',
    origin_host     TEXT    NOT NULL DEFAULT '',
    source          TEXT    NOT NULL DEFAULT '',   -- what the letters came from, for people
    -- uploading (letters held, not schedulable), scheduled (waiting for start_at), active,
    -- paused, completed, canceled, discarded (upload never committed; letters removed)
    state           TEXT    NOT NULL,
    schedule_id     INTEGER NOT NULL DEFAULT 0,    -- the cron schedule that made it, 0 = none
    start_at        INTEGER NOT NULL DEFAULT 0,    -- unix ns; letters held until then; 0 = at once
    attributes      TEXT    NOT NULL DEFAULT '{}', -- job-template attributes of every letter
    separator       INTEGER NOT NULL DEFAULT 0,
    letters         INTEGER NOT NULL DEFAULT 0,    -- registered letters (reprints not counted)
    pages           INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL,              -- also the upload's last sign of life
    committed       INTEGER NOT NULL DEFAULT 0,
    finished        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_by_state ON runs (state, id);

CREATE TABLE run_schedules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    virtual_printer TEXT    NOT NULL,
    owner           TEXT    NOT NULL DEFAULT '',
    spec            TEXT    NOT NULL,              -- cron spec, 5 fields or 6 with seconds
    dir             TEXT    NOT NULL,              -- drop folder on the gateway host
    attributes      TEXT    NOT NULL DEFAULT '{}',
    separator       INTEGER NOT NULL DEFAULT 0,
    created         INTEGER NOT NULL,
    last_fired      INTEGER NOT NULL DEFAULT 0,    -- the firing last handled (unix ns)
    deleted         INTEGER NOT NULL DEFAULT 0
);

-- Letters a schedule has already registered, by content: a file left in the drop folder is
-- printed once.
CREATE TABLE run_schedule_seen (
    schedule_id INTEGER NOT NULL,
    sha256      TEXT    NOT NULL,
    run_id      INTEGER NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    seen        INTEGER NOT NULL,
    PRIMARY KEY (schedule_id, sha256)
) WITHOUT ROWID;

-- A run's open letters are found by (run_id, state): pausing, resuming, canceling and "is the
-- run finished?" then touch only the letters concerned, even in a 100,000-letter run.
CREATE INDEX jobs_by_run_state ON jobs (run_id, state);
