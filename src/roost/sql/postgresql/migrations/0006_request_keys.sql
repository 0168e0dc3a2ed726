-- Request keys: a write that cannot simply run again (an enqueue without an idempotency key, a
-- publish without a dedupe key) carries a key made once per call on the client. Its rows store
-- it, so a call repeated after a lost connection, whose first commit went through unseen, finds
-- what it already wrote instead of writing it twice. Only rows written with a key are indexed.
ALTER TABLE roost.tasks ADD COLUMN request_key text;
CREATE INDEX tasks_request ON roost.tasks (request_key) WHERE request_key IS NOT NULL;
ALTER TABLE roost.events ADD COLUMN request_key text;
CREATE INDEX events_request ON roost.events (request_key) WHERE request_key IS NOT NULL;
