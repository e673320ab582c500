-- Small documents live inside the database instead of in docs/ (Options.InlineMaxBytes).
-- Writing a letter's bytes in the same transaction as its row makes both durable with the one
-- WAL fsync of the group commit; a file of its own costs an inode, a rename, an fsync of the
-- file and one of docs/ on every submission (see docs/BENCHMARKS.md, issue 2).
--
-- The bytes sit in their own table, not in a documents column, so that the job lists and the
-- scheduler, which read documents rows all the time, never walk past a blob's overflow pages.
ALTER TABLE documents ADD COLUMN inline INTEGER NOT NULL DEFAULT 0; -- 1: bytes in document_bytes, path ''

CREATE TABLE document_bytes (
    job_id INTEGER NOT NULL,
    seq    INTEGER NOT NULL,
    bytes  BLOB    NOT NULL,
    PRIMARY KEY (job_id, seq)
);
