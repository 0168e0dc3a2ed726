-- Leased locks for SQLite. The lock row decides; lock_holders rows are bookkeeping that counts only
-- while token >= the row's epoch. Blocks of two statements run in one BEGIN IMMEDIATE transaction
-- (see the SQLite backend) and the second acts only when the first changed a row (changes() = 1).

-- name: lock_acquire
-- A free lock (no holders, or expired) starts a new holding whose epoch is its first token; a live
-- shared lock admits another shared holder. A new name starts above the project's token floor.
INSERT INTO locks (project, name, token, epoch, mode, holders, expires_at, changed_at)
SELECT :project, :name, p.lock_token_floor + 1, p.lock_token_floor + 1, :mode, 1, n.now + :ttl, n.now
FROM projects p, (SELECT (julianday('now') - 2440587.5) * 86400.0 AS now) n
WHERE p.name = :project
ON CONFLICT (project, name) DO UPDATE SET
    token = token + 1,
    epoch = CASE WHEN mode = 'shared' AND excluded.mode = 'shared' AND holders > 0
                      AND expires_at > excluded.changed_at THEN epoch ELSE token + 1 END,
    holders = CASE WHEN mode = 'shared' AND excluded.mode = 'shared' AND holders > 0
                        AND expires_at > excluded.changed_at THEN holders + 1 ELSE 1 END,
    expires_at = CASE WHEN mode = 'shared' AND excluded.mode = 'shared' AND holders > 0
                           AND expires_at > excluded.changed_at THEN max(expires_at, excluded.expires_at)
                      ELSE excluded.expires_at END,
    mode = excluded.mode,
    changed_at = excluded.changed_at
WHERE holders = 0 OR expires_at <= excluded.changed_at OR (mode = 'shared' AND excluded.mode = 'shared');
INSERT INTO lock_holders (project, name, token, owner, mode, acquired_at, expires_at)
SELECT project, name, token, :owner, mode, changed_at, changed_at + :ttl
FROM locks
WHERE project = :project AND name = :name AND changes() = 1
RETURNING token, acquired_at, expires_at

-- name: lock_renew
-- Only an unexpired holder of the current holding may renew.
UPDATE locks SET
    expires_at = CASE WHEN mode = 'exclusive' THEN (julianday('now') - 2440587.5) * 86400.0 + :ttl
                      ELSE max(expires_at, (julianday('now') - 2440587.5) * 86400.0 + :ttl) END,
    changed_at = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND name = :name AND epoch <= :token AND EXISTS (
    SELECT 1 FROM lock_holders h
    WHERE h.project = :project AND h.name = :name AND h.token = :token
      AND h.expires_at > (julianday('now') - 2440587.5) * 86400.0
      AND (:owner IS NULL OR h.owner = :owner));
UPDATE lock_holders SET expires_at = (julianday('now') - 2440587.5) * 86400.0 + :ttl
WHERE project = :project AND name = :name AND token = :token AND changes() = 1
RETURNING token, owner, mode, acquired_at, expires_at

-- name: lock_release
-- A holder of the current holding may release, even just after expiry: nobody else held it since.
-- The last holder out leaves the lock free at once. The lock.released event is written here (a
-- trigger on the holder row could not tell a release from a cleanup); it inserts a row exactly
-- when the lock row changed, so the DELETE's changes() = 1 test still means the same.
UPDATE locks SET
    holders = max(holders - 1, 0),
    expires_at = CASE WHEN holders <= 1 THEN min(expires_at, (julianday('now') - 2440587.5) * 86400.0)
                      ELSE expires_at END,
    changed_at = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND name = :name AND epoch <= :token AND EXISTS (
    SELECT 1 FROM lock_holders h
    WHERE h.project = :project AND h.name = :name AND h.token = :token
      AND (:owner IS NULL OR h.owner = :owner));
INSERT INTO events (project, topic, payload, refs)
SELECT project, 'lock.released', json_object('name', name, 'owner', owner, 'token', token, 'mode', mode),
       json_object('lock', name, 'agent', owner)
FROM lock_holders
WHERE project = :project AND name = :name AND token = :token AND changes() = 1;
DELETE FROM lock_holders
WHERE project = :project AND name = :name AND token = :token AND changes() = 1
RETURNING token

-- name: lock_row_lock
-- Serializes privileged changes to one lock (SQLite's write lock already does).
SELECT epoch FROM locks WHERE project = :project AND name = :name

-- name: lock_force_release
-- Every current token falls below the new epoch, so none can renew or release any more.
UPDATE locks SET
    epoch = token + 1, holders = 0,
    expires_at = min(expires_at, (julianday('now') - 2440587.5) * 86400.0),
    changed_at = (julianday('now') - 2440587.5) * 86400.0
WHERE project = :project AND name = :name;
DELETE FROM lock_holders WHERE project = :project AND name = :name

-- name: lock_state
-- The lock row and, if it exists, the holder row of :token: what a refused renew or release reports.
SELECT l.token, l.epoch, l.mode, l.holders, l.expires_at, h.owner, h.expires_at,
       (julianday('now') - 2440587.5) * 86400.0
FROM locks l
LEFT JOIN lock_holders h ON h.project = l.project AND h.name = l.name AND h.token = :token
WHERE l.project = :project AND l.name = :name

-- name: lock_list
-- Live holders of current holdings, with the database's clock for ages.
SELECT h.name, h.owner, h.mode, h.token, h.acquired_at, h.expires_at, (julianday('now') - 2440587.5) * 86400.0
FROM lock_holders h
JOIN locks l ON l.project = h.project AND l.name = h.name
WHERE h.project = :project AND h.token >= l.epoch
  AND h.expires_at > (julianday('now') - 2440587.5) * 86400.0
  AND substr(h.name, 1, length(:prefix)) = :prefix
  AND (:owner IS NULL OR h.owner = :owner)
ORDER BY h.name, h.token

-- name: lock_current_holders
-- Live holders of one lock (force release reports whom it evicted).
SELECT h.owner, h.token, h.mode
FROM lock_holders h
JOIN locks l ON l.project = h.project AND l.name = h.name
WHERE h.project = :project AND h.name = :name AND h.token >= l.epoch
  AND h.expires_at > (julianday('now') - 2440587.5) * 86400.0
ORDER BY h.token

-- name: lock_owner_holdings
-- Everything an owner may still release, expired or not.
SELECT h.name, h.token
FROM lock_holders h
JOIN locks l ON l.project = h.project AND l.name = h.name
WHERE h.project = :project AND h.owner = :owner AND h.token >= l.epoch
ORDER BY h.name, h.token
