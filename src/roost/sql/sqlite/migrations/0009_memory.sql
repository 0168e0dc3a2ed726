-- Memory: sessions, transcripts, memories, observations and artifacts (docs/memory.md).
--
-- Everything is scoped by project. What belongs to a session references it, and goes with it when
-- it is deleted (ON DELETE CASCADE: one statement, one transaction). A session's counters and its
-- last_activity are kept by triggers on the rows they count (memories, observations, artifacts), so
-- they move in the same transaction as the write, whichever statement made it; transcripts, which
-- arrive in batches, update their session once per batch instead (see transcripts.sql). Text lives
-- in one column per kind (content, title), where a full-text index can read it.

CREATE TABLE sessions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'completed', 'archived')),
    participants TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_activity REAL NOT NULL,
    last_position INTEGER NOT NULL DEFAULT 0,
    entry_count INTEGER NOT NULL DEFAULT 0,
    memory_count INTEGER NOT NULL DEFAULT 0,
    artifact_count INTEGER NOT NULL DEFAULT 0,
    observation_count INTEGER NOT NULL DEFAULT 0,
    UNIQUE (project, id)
);
CREATE INDEX sessions_recent ON sessions (project, seq);

CREATE TABLE transcript_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    session_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    agent TEXT,
    phase TEXT,
    iteration INTEGER,
    message_id TEXT,
    metadata TEXT,
    created_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX transcript_positions ON transcript_entries (project, session_id, position);
CREATE UNIQUE INDEX transcript_messages ON transcript_entries (project, session_id, message_id)
    WHERE message_id IS NOT NULL;

-- A memory's key is unique per project and scope: its session, or the whole project ('').
-- seq orders writes (newest first) and is what list cursors point at.
CREATE TABLE memories (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    session_id TEXT,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    tags TEXT NOT NULL,
    agent TEXT,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX memories_key ON memories (project, coalesce(session_id, ''), key);
CREATE INDEX memories_recent ON memories (project, seq);
CREATE INDEX memories_session ON memories (project, session_id) WHERE session_id IS NOT NULL;

CREATE TABLE observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    agent TEXT NOT NULL,
    session_id TEXT,
    kind TEXT,
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE
);
CREATE INDEX observations_agent ON observations (project, agent, id);
CREATE INDEX observations_recent ON observations (project, id);
CREATE INDEX observations_session ON observations (project, session_id) WHERE session_id IS NOT NULL;

-- How many observations each agent has: the per-agent cap is enforced against this row, which
-- every insert for the agent writes first (so inserts for one agent take turns on it).
CREATE TABLE observation_agents (
    project TEXT NOT NULL,
    agent TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (project, agent)
);

-- Artifact content, stored once per project and SHA-256, in chunks. A blob without sha256 is an
-- upload in progress (or one whose writer died): no artifact points at it, and cleanup removes it.
CREATE TABLE artifact_blobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL DEFAULT 0,
    touched_at REAL NOT NULL
);
CREATE UNIQUE INDEX artifact_blobs_sha ON artifact_blobs (project, sha256) WHERE sha256 IS NOT NULL;
CREATE INDEX artifact_blobs_uploads ON artifact_blobs (project, touched_at) WHERE sha256 IS NULL;

CREATE TABLE artifact_chunks (
    blob_id INTEGER NOT NULL REFERENCES artifact_blobs (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (blob_id, seq)
);

-- The newest version number each name was given, kept after its versions are deleted, so a
-- version number is never handed out twice.
CREATE TABLE artifact_names (
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    latest INTEGER NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    blob_id INTEGER NOT NULL REFERENCES artifact_blobs (id),
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    type TEXT,
    format TEXT,
    is_text INTEGER NOT NULL,
    session_id TEXT,
    task_id INTEGER,
    metadata TEXT,
    created_at REAL NOT NULL,
    FOREIGN KEY (project, session_id) REFERENCES sessions (project, id) ON DELETE CASCADE,
    UNIQUE (project, name, version)
);
CREATE INDEX artifacts_blob ON artifacts (blob_id);
CREATE INDEX artifacts_session ON artifacts (project, session_id) WHERE session_id IS NOT NULL;

-- Built-in events and the session's counters. (transcript.appended is written once per batch by
-- the append statements themselves.)
CREATE TRIGGER sessions_inserted AFTER INSERT ON sessions BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'session.created',
        json_object('id', NEW.id, 'title', NEW.title, 'participants', json(NEW.participants)),
        json_object('session', NEW.id));
END;

CREATE TRIGGER sessions_status AFTER UPDATE OF status ON sessions WHEN OLD.status <> NEW.status BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'session.status_changed',
        json_object('id', NEW.id, 'status', NEW.status, 'previous', OLD.status), json_object('session', NEW.id));
END;

CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (OLD.project, 'session.deleted',
        json_object('id', OLD.id), json_object('session', OLD.id));
END;

CREATE TRIGGER memories_inserted AFTER INSERT ON memories BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'memory.put',
        json_patch('{}', json_object('key', NEW.key, 'session', NEW.session_id, 'type', NEW.type,
                                     'version', NEW.version, 'agent', NEW.agent)),
        json_patch('{}', json_object('memory', NEW.key, 'session', NEW.session_id, 'agent', NEW.agent)));
    UPDATE sessions SET memory_count = memory_count + 1, last_activity = NEW.updated_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER memories_updated AFTER UPDATE ON memories BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'memory.put',
        json_patch('{}', json_object('key', NEW.key, 'session', NEW.session_id, 'type', NEW.type,
                                     'version', NEW.version, 'agent', NEW.agent)),
        json_patch('{}', json_object('memory', NEW.key, 'session', NEW.session_id, 'agent', NEW.agent)));
    UPDATE sessions SET last_activity = NEW.updated_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER memories_deleted AFTER DELETE ON memories BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (OLD.project, 'memory.deleted',
        json_patch('{}', json_object('key', OLD.key, 'session', OLD.session_id, 'version', OLD.version)),
        json_patch('{}', json_object('memory', OLD.key, 'session', OLD.session_id)));
    UPDATE sessions SET memory_count = memory_count - 1, last_activity = (julianday('now') - 2440587.5) * 86400.0
    WHERE OLD.session_id IS NOT NULL AND project = OLD.project AND id = OLD.session_id;
END;

CREATE TRIGGER observations_inserted AFTER INSERT ON observations BEGIN
    INSERT INTO observation_agents (project, agent, count) VALUES (NEW.project, NEW.agent, 1)
    ON CONFLICT (project, agent) DO UPDATE SET count = count + 1;
    UPDATE sessions SET observation_count = observation_count + 1, last_activity = NEW.created_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER observations_deleted AFTER DELETE ON observations BEGIN
    UPDATE observation_agents SET count = count - 1 WHERE project = OLD.project AND agent = OLD.agent;
    UPDATE sessions SET observation_count = observation_count - 1
    WHERE OLD.session_id IS NOT NULL AND project = OLD.project AND id = OLD.session_id;
END;

CREATE TRIGGER artifacts_inserted AFTER INSERT ON artifacts BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (NEW.project, 'artifact.put',
        json_patch('{}', json_object('name', NEW.name, 'version', NEW.version, 'size', NEW.size,
                                     'sha256', NEW.sha256, 'session', NEW.session_id)),
        json_patch('{}', json_object('artifact', NEW.name, 'session', NEW.session_id)));
    UPDATE sessions SET artifact_count = artifact_count + 1, last_activity = NEW.created_at
    WHERE NEW.session_id IS NOT NULL AND project = NEW.project AND id = NEW.session_id;
END;

CREATE TRIGGER artifacts_deleted AFTER DELETE ON artifacts BEGIN
    INSERT INTO events (project, topic, payload, refs) VALUES (OLD.project, 'artifact.deleted',
        json_patch('{}', json_object('name', OLD.name, 'version', OLD.version, 'session', OLD.session_id)),
        json_patch('{}', json_object('artifact', OLD.name, 'session', OLD.session_id)));
    UPDATE sessions SET artifact_count = artifact_count - 1, last_activity = (julianday('now') - 2440587.5) * 86400.0
    WHERE OLD.session_id IS NOT NULL AND project = OLD.project AND id = OLD.session_id;
END;
