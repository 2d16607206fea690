-- mediaspool schema (PROTOCOL.md section 3). pg_store::migrate() runs this whole file as ONE
-- simple query inside one transaction, holding an advisory lock so that nodes starting together
-- do not race. Every statement is idempotent; keep it so (no BEGIN/COMMIT here).

-- The session row, exactly as the contract states it. Its JSONB arrays are a derived view that
-- pg_store rebuilds from media_items; the original queries keep working on it.
CREATE TABLE IF NOT EXISTS media_sessions (
    id SERIAL PRIMARY KEY,
    session_id VARCHAR(36) UNIQUE NOT NULL,
    interview_session_id INTEGER,
    user_id INTEGER,
    audio_chunks JSONB DEFAULT '[]',
    video_frames JSONB DEFAULT '[]',
    responses JSONB DEFAULT '[]',
    total_chunks INTEGER DEFAULT 0,
    total_frames INTEGER DEFAULT 0,
    storage_path VARCHAR(255),
    status VARCHAR(16) DEFAULT 'recording',   -- recording | completed
    created_at TIMESTAMP DEFAULT NOW(),
    last_activity TIMESTAMP DEFAULT NOW(),
    completed_at TIMESTAMP
);

-- A table made by the original design lacks the status columns: add whatever is missing.
-- One ALTER statement, so the table's ACCESS EXCLUSIVE lock is taken once per migration.
-- node_id: the node that last owned the session (nullable; for scale-out).
-- arrays_stale: media_items holds rows (or transcripts) its JSONB arrays do not show yet. Set in
-- the transaction that writes them, cleared by the rebuild that catches up; a node that starts
-- rebuilds the sessions left marked, since which arrays lag was known only in the memory of a
-- node that stopped (a client that never comes back would otherwise leave them short for good).
ALTER TABLE media_sessions
    ADD COLUMN IF NOT EXISTS responses JSONB DEFAULT '[]',
    ADD COLUMN IF NOT EXISTS total_chunks INTEGER DEFAULT 0,
    ADD COLUMN IF NOT EXISTS total_frames INTEGER DEFAULT 0,
    ADD COLUMN IF NOT EXISTS storage_path VARCHAR(255),
    ADD COLUMN IF NOT EXISTS status VARCHAR(16) DEFAULT 'recording',
    ADD COLUMN IF NOT EXISTS last_activity TIMESTAMP DEFAULT NOW(),
    ADD COLUMN IF NOT EXISTS completed_at TIMESTAMP,
    ADD COLUMN IF NOT EXISTS node_id VARCHAR(64),
    ADD COLUMN IF NOT EXISTS arrays_stale BOOLEAN NOT NULL DEFAULT false;

-- The JSONB arrays are rebuilt whole (pg_store, db.refresh-fraction), and compressing the new
-- value was the largest part of a rebuild: lz4 takes a rebuild of 2,000 frame elements from
-- 8.2 to 4.4 ms against the default pglz, for 4 % more bytes. Set once (the check spares the
-- table's lock on every start); a server built without lz4, or older than PostgreSQL 14, keeps
-- pglz. EXECUTE defers parsing, so an older server's syntax error is caught here too.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute
                WHERE attrelid = 'media_sessions'::regclass
                  AND attname IN ('audio_chunks', 'video_frames', 'responses')
                  AND attcompression IS DISTINCT FROM 'l') THEN
        EXECUTE 'ALTER TABLE media_sessions ALTER COLUMN audio_chunks SET COMPRESSION lz4, '
                'ALTER COLUMN video_frames SET COMPRESSION lz4, ALTER COLUMN responses SET COMPRESSION lz4';
    END IF;
EXCEPTION WHEN feature_not_supported OR undefined_column OR syntax_error THEN
    NULL;
END
$$;

-- The record of truth: one row per acked item, so an append costs one small INSERT whatever the
-- session's length, and the primary key makes a replay insert nothing (exactly once).
-- kind: 'a' audio chunk, 'f' video frame, 'r' response (idx = question_id).
-- hash: the payload's XXH3-64, a uint64 stored bit for bit in a BIGINT (may read negative).
-- element: the JSONB array element as PROTOCOL.md section 3 shows it.
-- The key includes hash and size: a resume reads them for every item of its session, and a
-- session's rows lie scattered over the heap among all others recorded at the same time (1,133
-- rows of a 30-minute session on 839 pages: 50 ms), while its index entries are adjacent.
CREATE TABLE IF NOT EXISTS media_items (
    session_id VARCHAR(36) NOT NULL,
    kind CHAR(1) NOT NULL,
    idx BIGINT NOT NULL,
    hash BIGINT NOT NULL,
    size BIGINT NOT NULL,
    element JSONB NOT NULL,
    created_at TIMESTAMP DEFAULT NOW(),
    PRIMARY KEY (session_id, kind, idx) INCLUDE (hash, size)
);

-- A table made before the key included hash and size gets the new key once (rebuilt in place;
-- ON CONFLICT (session_id, kind, idx) infers it as before).
DO $$
DECLARE
    pk TEXT;
BEGIN
    SELECT c.conname INTO pk
      FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid
     WHERE c.conrelid = 'media_items'::regclass AND c.contype = 'p' AND i.indnatts = i.indnkeyatts;
    IF pk IS NOT NULL THEN
        EXECUTE format('ALTER TABLE media_items DROP CONSTRAINT %I, '
                       'ADD PRIMARY KEY (session_id, kind, idx) INCLUDE (hash, size)', pk);
    END IF;
END
$$;

-- The transcriber's durable work list (issue 5): audio chunks not processed yet, oldest first.
-- Partial, so it stays as small as the backlog; pg_store's query repeats its predicate.
CREATE INDEX IF NOT EXISTS media_items_audio_todo ON media_items (created_at)
    WHERE kind = 'a' AND (element->>'processed') IS DISTINCT FROM 'true';

-- Transcription claims: which node is transcribing an audio chunk, until when. A node takes only
-- chunks nobody else holds a live claim on, so several nodes with asr.enabled share the work list
-- instead of all transcribing its oldest chunks; a claim whose node died expires (asr.claim-lease)
-- and another node takes the chunk. Writing the transcript deletes the claim.
CREATE TABLE IF NOT EXISTS asr_claims (
    session_id VARCHAR(36) NOT NULL,
    idx BIGINT NOT NULL,
    node_id VARCHAR(64) NOT NULL,
    until TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, idx)
);

-- Migrations that must run once, not on every start.
CREATE TABLE IF NOT EXISTS mediaspool_migrations (
    name TEXT PRIMARY KEY,
    applied_at TIMESTAMP DEFAULT NOW()
);

-- Sessions recorded by the original design hold their items only in the JSONB arrays. Copy them
-- into media_items once, so that rebuilding an array from media_items never drops them. Their
-- payload hash is unknown (0): a resend of such an item with other bytes cannot be told apart.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM mediaspool_migrations WHERE name = 'backfill_items_from_arrays') THEN
        INSERT INTO media_items (session_id, kind, idx, hash, size, element)
        SELECT s.session_id, 'a', (e->>'chunk_index')::bigint, 0, COALESCE((e->>'file_size')::bigint, 0), e
          FROM media_sessions s, jsonb_array_elements(s.audio_chunks) e
         WHERE jsonb_typeof(s.audio_chunks) = 'array' AND jsonb_typeof(e->'chunk_index') = 'number'
        ON CONFLICT DO NOTHING;
        INSERT INTO media_items (session_id, kind, idx, hash, size, element)
        SELECT s.session_id, 'f', (e->>'frame_index')::bigint, 0, COALESCE((e->>'file_size')::bigint, 0), e
          FROM media_sessions s, jsonb_array_elements(s.video_frames) e
         WHERE jsonb_typeof(s.video_frames) = 'array' AND jsonb_typeof(e->'frame_index') = 'number'
        ON CONFLICT DO NOTHING;
        INSERT INTO media_items (session_id, kind, idx, hash, size, element)
        SELECT s.session_id, 'r', (e->>'question_id')::bigint, 0, 0, e
          FROM media_sessions s, jsonb_array_elements(s.responses) e
         WHERE jsonb_typeof(s.responses) = 'array' AND jsonb_typeof(e->'question_id') = 'number'
        ON CONFLICT DO NOTHING;
        INSERT INTO mediaspool_migrations (name) VALUES ('backfill_items_from_arrays');
    END IF;
END
$$;
