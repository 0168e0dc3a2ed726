-- Leased locks for PostgreSQL. The lock row decides; lock_holders rows are bookkeeping that counts
-- only while token >= the row's epoch. Each decision is one statement whose condition is on the
-- lock row: INSERT ... ON CONFLICT DO UPDATE and UPDATE recheck it on the newest row version after
-- waiting for a concurrent writer, and clock_timestamp() is read at that moment, not at the start.
-- Tokens are drawn from roost.lock_tokens while the row is locked, so each name's tokens only grow.

-- name: lock_acquire
-- A free lock (no holders, or expired) starts a new holding; a live shared lock admits another
-- shared holder. epoch = old token + 1 puts every earlier token below the new holding.
WITH l AS (
    INSERT INTO roost.locks AS l (project, name, token, epoch, mode, holders, expires_at, changed_at)
    SELECT %(project)s, %(name)s, t, t, %(mode)s, 1,
           clock_timestamp() + %(ttl)s::float8 * interval '1 second', clock_timestamp()
    FROM nextval('roost.lock_tokens') AS t
    ON CONFLICT (project, name) DO UPDATE SET
        token = nextval('roost.lock_tokens'),
        epoch = CASE WHEN l.mode = 'shared' AND excluded.mode = 'shared' AND l.holders > 0
                          AND l.expires_at > clock_timestamp() THEN l.epoch ELSE l.token + 1 END,
        holders = CASE WHEN l.mode = 'shared' AND excluded.mode = 'shared' AND l.holders > 0
                            AND l.expires_at > clock_timestamp() THEN l.holders + 1 ELSE 1 END,
        expires_at = CASE WHEN l.mode = 'shared' AND excluded.mode = 'shared' AND l.holders > 0
                               AND l.expires_at > clock_timestamp()
                          THEN greatest(l.expires_at, clock_timestamp() + %(ttl)s::float8 * interval '1 second')
                          ELSE clock_timestamp() + %(ttl)s::float8 * interval '1 second' END,
        mode = excluded.mode,
        changed_at = clock_timestamp()
    WHERE l.holders = 0 OR l.expires_at <= clock_timestamp() OR (l.mode = 'shared' AND excluded.mode = 'shared')
    RETURNING l.token, l.changed_at
)
INSERT INTO roost.lock_holders (project, name, token, owner, mode, acquired_at, expires_at)
SELECT %(project)s, %(name)s, token, %(owner)s, %(mode)s, changed_at,
       changed_at + %(ttl)s::float8 * interval '1 second'
FROM l
RETURNING token, extract(epoch FROM acquired_at)::float8, extract(epoch FROM expires_at)::float8

-- name: lock_renew
-- Only an unexpired holder of the current holding may renew. If the holding ended, the holder row
-- may still be touched, but it stays below the epoch and counts for nothing.
WITH h AS (
    UPDATE roost.lock_holders
    SET expires_at = clock_timestamp() + %(ttl)s::float8 * interval '1 second'
    WHERE project = %(project)s AND name = %(name)s AND token = %(token)s
      AND expires_at > clock_timestamp() AND (%(owner)s::text IS NULL OR owner = %(owner)s::text)
    RETURNING token, owner, mode, acquired_at, expires_at
), l AS (
    UPDATE roost.locks l SET
        expires_at = CASE WHEN l.mode = 'exclusive' THEN h.expires_at ELSE greatest(l.expires_at, h.expires_at) END,
        changed_at = clock_timestamp()
    FROM h
    WHERE l.project = %(project)s AND l.name = %(name)s AND l.epoch <= h.token
    RETURNING h.token, h.owner, h.mode, h.acquired_at, h.expires_at
)
SELECT token, owner, mode, extract(epoch FROM acquired_at)::float8, extract(epoch FROM expires_at)::float8 FROM l

-- name: lock_release
-- A holder of the current holding may release, even just after expiry: nobody else held it since.
-- Deleting the holder row first makes a doubled release of one token count once. The last holder
-- out leaves the lock free at once and wakes waiters. The lock.released event is written here, by
-- the statement, since a trigger on the holder row could not tell a release from a cleanup.
WITH h AS (
    DELETE FROM roost.lock_holders
    WHERE project = %(project)s AND name = %(name)s AND token = %(token)s
      AND (%(owner)s::text IS NULL OR owner = %(owner)s::text)
    RETURNING token, owner, mode
), l AS (
    UPDATE roost.locks l SET
        holders = greatest(l.holders - 1, 0),
        expires_at = CASE WHEN l.holders <= 1 THEN least(l.expires_at, clock_timestamp()) ELSE l.expires_at END,
        changed_at = clock_timestamp()
    FROM h
    WHERE l.project = %(project)s AND l.name = %(name)s AND l.epoch <= h.token
    RETURNING h.token, h.owner, h.mode
), ev AS (
    INSERT INTO roost.events (project, topic, payload, refs)
    SELECT %(project)s, 'lock.released',
           jsonb_build_object('name', %(name)s::text, 'owner', owner, 'token', token, 'mode', mode)::text,
           jsonb_build_object('lock', %(name)s::text, 'agent', owner)
    FROM l
)
SELECT token FROM l

-- name: lock_row_lock
-- Serializes privileged changes to one lock for the rest of the transaction.
SELECT epoch FROM roost.locks WHERE project = %(project)s AND name = %(name)s FOR UPDATE

-- name: lock_force_release
-- Every current token falls below the new epoch, so none can renew or release any more.
WITH l AS (
    UPDATE roost.locks SET
        epoch = token + 1, holders = 0, expires_at = least(expires_at, clock_timestamp()),
        changed_at = clock_timestamp()
    WHERE project = %(project)s AND name = %(name)s
    RETURNING token
), h AS (
    DELETE FROM roost.lock_holders WHERE project = %(project)s AND name = %(name)s
)
SELECT token FROM l

-- name: lock_state
-- The lock row and, if it exists, the holder row of :token: what a refused renew or release reports.
SELECT l.token, l.epoch, l.mode, l.holders, extract(epoch FROM l.expires_at)::float8, h.owner,
       extract(epoch FROM h.expires_at)::float8, extract(epoch FROM clock_timestamp())::float8
FROM roost.locks l
LEFT JOIN roost.lock_holders h ON h.project = l.project AND h.name = l.name AND h.token = %(token)s
WHERE l.project = %(project)s AND l.name = %(name)s

-- name: lock_list
-- Live holders of current holdings, with the database's clock for ages.
SELECT h.name, h.owner, h.mode, h.token, extract(epoch FROM h.acquired_at)::float8,
       extract(epoch FROM h.expires_at)::float8, extract(epoch FROM clock_timestamp())::float8
FROM roost.lock_holders h
JOIN roost.locks l ON l.project = h.project AND l.name = h.name
WHERE h.project = %(project)s AND h.token >= l.epoch AND h.expires_at > clock_timestamp()
  AND left(h.name, char_length(%(prefix)s)) = %(prefix)s
  AND (%(owner)s::text IS NULL OR h.owner = %(owner)s::text)
ORDER BY h.name, h.token

-- name: lock_current_holders
-- Live holders of one lock (force release reports whom it evicted).
SELECT h.owner, h.token, h.mode
FROM roost.lock_holders h
JOIN roost.locks l ON l.project = h.project AND l.name = h.name
WHERE h.project = %(project)s AND h.name = %(name)s AND h.token >= l.epoch
  AND h.expires_at > clock_timestamp()
ORDER BY h.token

-- name: lock_owner_holdings
-- Everything an owner may still release, expired or not.
SELECT h.name, h.token
FROM roost.lock_holders h
JOIN roost.locks l ON l.project = h.project AND l.name = h.name
WHERE h.project = %(project)s AND h.owner = %(owner)s AND h.token >= l.epoch
ORDER BY h.name, h.token
