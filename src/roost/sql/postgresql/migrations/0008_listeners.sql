-- NOTIFY only when someone listens. PostgreSQL serializes the commits of every transaction that
-- sends a NOTIFY (one lock on the notification queue), which with many queue workers cost a
-- quarter of the queue's throughput, while nobody may be subscribed at all. A store that LISTENs
-- now registers its listener here, from the listener's own connection, and refreshes the row
-- every 15 seconds; the statement trigger notifies only while some listener was seen within a
-- minute. A NOTIFY is only a wake-up (subscribers read the log from a cursor, and poll): a
-- transaction that checked just before a new listener registered costs that listener at most one
-- poll interval of latency, never an event.
CREATE TABLE roost.listeners (
    id text PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
-- (The check runs inside the queue's functions, which plan with enable_seqscan = off: without an
-- index on seen_at, its plan cost seemed so high that each run was JIT-compiled, 20 ms per event.)
CREATE INDEX listeners_seen ON roost.listeners (seen_at);

CREATE OR REPLACE FUNCTION roost.events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM roost.listeners WHERE seen_at > clock_timestamp() - interval '1 minute') THEN
        PERFORM pg_notify('roost_events', '');
    END IF;
    RETURN NULL;
END
$$;
