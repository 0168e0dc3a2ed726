"""Every error roost raises derives from :class:`RoostError`.

A subclass's docstring is its default message, so ``raise SchemaTooNew()`` already says something
useful; callers add the specifics. Driver exceptions never escape the backends: they are translated
at that edge into one of these, keeping the original as ``__cause__``.

``exit_code`` is what the CLI exits with for an error of that class (0 ok, 1 error, 2 usage,
3 not found / not acquired / conflict / timed out, 4 lease lost, or a transfer whose copy differs).
``kind`` is the same distinction by name, as the MCP server reports it (``not_found``,
``not_acquired``, ``conflict``, ``timed_out``, ``lease_lost``, ``invalid_input``, ``not_permitted``,
``unavailable``, ``error``), and ``retryable`` says whether the same call, made again later, may
succeed (a held lock, a version conflict, a lost connection) or cannot (bad input, a missing record).
"""

from __future__ import annotations


class RoostError(Exception):
    """roost failed."""

    exit_code = 1
    kind = "error"
    retryable = False

    def __init__(self, message: str | None = None) -> None:
        doc = (type(self).__doc__ or "roost failed.").strip().splitlines()[0]
        super().__init__(message or doc)

    @property
    def message(self) -> str:
        return str(self.args[0])


# --- configuration -------------------------------------------------------------------------------


class ConfigError(RoostError):
    """The configuration is invalid."""

    kind = "invalid_input"


class InvalidURL(ConfigError):
    """The database URL is invalid."""


class InvalidSetting(ConfigError):
    """A setting has a value outside its allowed range."""


class InvalidArgument(RoostError):
    """An argument is invalid."""

    kind = "invalid_input"


# --- reaching the database ------------------------------------------------------------------------


class ConnectError(RoostError):
    """Could not connect to the database."""

    kind = "unavailable"


class ServerUnreachable(ConnectError):
    """The database server could not be reached; check the host, the port and that it is running."""

    kind = "unavailable"
    retryable = True


class AuthenticationFailed(ConnectError):
    """The database refused the credentials; check the user name and password in the URL."""


class DatabaseNotFound(ConnectError):
    """The database does not exist; create it or fix the database name in the URL."""


class CannotOpenDatabase(ConnectError):
    """The SQLite database file cannot be opened or created."""


class NoStore(ConnectError):
    """There is no roost store at that URL; run `roost init` to create one."""


class NotADatabase(ConnectError):
    """The file exists but is not an SQLite database; it was left untouched."""


# --- schema ---------------------------------------------------------------------------------------


class SchemaError(RoostError):
    """The database schema does not match this version of roost."""


class SchemaTooNew(SchemaError):
    """The database schema is newer than this version of roost; upgrade roost."""


class MigrationChecksumMismatch(SchemaError):
    """An applied migration differs from the one shipped with roost; the database was changed by hand
    or by a different build."""


class SchemaNotReady(SchemaError):
    """The database schema has pending migrations; run `roost migrate`."""


# --- backup and restore ---------------------------------------------------------------------------


class BackupError(RoostError):
    """The backup or restore failed; nothing was left half-written."""


class ToolMissing(BackupError):
    """A program the operation needs (pg_dump, pg_restore) is not installed."""


class TargetNotEmpty(BackupError):
    """The restore target already holds data; restore into an empty one. (For an import or a
    transfer: the target already holds records of the project, and ``replace`` was not asked.)"""

    exit_code = 3
    kind = "conflict"


class BadExportFile(BackupError):
    """An export file that cannot be imported (truncated, corrupted, from a newer roost); the
    message names the line. Nothing of it was written."""


class IdCollision(BackupError):
    """Records to import would take ids that other projects' records hold in the target."""

    exit_code = 3
    kind = "conflict"


class TransferMismatch(BackupError):
    """After an import or a transfer, the target's records of the project differ from the
    source's (row counts or checksums, table by table). ``info`` holds the load's report."""

    exit_code = 4

    def __init__(self, message: str | None = None, info: object = None) -> None:
        super().__init__(message)
        self.info = info


# --- running --------------------------------------------------------------------------------------


class DatabaseError(RoostError):
    """The database reported an error."""


class DatabaseLocked(DatabaseError):
    """The database stayed locked by other writers past the busy timeout; retry, or raise
    `sqlite_busy_timeout`."""

    kind = "unavailable"
    retryable = True


class ReadOnlyDatabase(DatabaseError):
    """The database is read-only for this process; check file and directory permissions."""


class ConnectionLost(DatabaseError):
    """The connection to the database was lost; the operation may be retried."""

    kind = "unavailable"
    retryable = True


class StatementTimeout(DatabaseError):
    """A statement ran longer than `statement_timeout` and was cancelled."""

    kind = "unavailable"
    retryable = True


class PoolTimeout(DatabaseError):
    """No database connection became free within `acquire_timeout`; raise `pool_max_size` or the
    timeout."""

    kind = "unavailable"
    retryable = True


class ConstraintViolation(DatabaseError):
    """The change would break a constraint of the schema and was not made."""


TRANSIENT: tuple[type[RoostError], ...] = (
    ConnectionLost, ServerUnreachable, PoolTimeout, DatabaseLocked, StatementTimeout,
)
"""Errors that waiting can fix. Long-running callers (workers, long waits) retry through them."""


class StoreClosed(RoostError):
    """The store is closed."""


class TransactionError(RoostError):
    """The transaction was used incorrectly."""


# --- coordination (signals, locks, agents) --------------------------------------------------------


class NotPermitted(RoostError):
    """The action needs the privileged flag (protected signals, force release)."""

    kind = "not_permitted"


class NotFound(RoostError):
    """Nothing by that name exists."""

    exit_code = 3
    kind = "not_found"


class AgentNotFound(NotFound):
    """No agent by that name is registered in this project."""


class SessionNotFound(NotFound):
    """No session by that id exists in this project."""


class ArtifactNotFound(NotFound):
    """No artifact (or no such version of it) exists in this project."""


class TooLarge(InvalidArgument):
    """The value is larger than roost's limit for it."""


class QuotaExceeded(RoostError):
    """The project's artifact storage quota would be exceeded."""

    kind = "invalid_input"


class VersionConflict(RoostError):
    """The signal is not at the expected version; read it again and retry."""

    exit_code = 3
    kind = "conflict"
    retryable = True


class CollectionNotFound(NotFound):
    """No document collection by that name is declared in this project."""


class DocumentNotFound(NotFound):
    """No document (or no such version of it) exists under that key."""


class SchemaViolation(InvalidArgument):
    """The document does not fit its collection's schema."""


class FrozenField(RoostError):
    """The write would change a frozen field; nothing of it was applied."""

    kind = "not_permitted"


class DeleteRestricted(RoostError):
    """The document has children in a collection declared on_parent_delete='restrict'."""

    exit_code = 3
    kind = "conflict"


class WorkflowNotFound(NotFound):
    """No workflow (or no such version of it) is defined in this project."""


class RunNotFound(NotFound):
    """No run by that id exists in this project."""


class PhaseNotFound(NotFound):
    """The run's workflow has no phase by that id."""


class IllegalTransition(RoostError):
    """The run or phase is not in a state that allows this change; nothing was changed."""

    exit_code = 3
    kind = "conflict"


class PhaseBusy(IllegalTransition):
    """The phase is running under another executor, who is not stale; nothing was changed."""

    kind = "conflict"
    retryable = True


class IterationLimit(IllegalTransition):
    """The phase has run as many iterations as its max_iterations allows."""


class DuplicateRecord(RoostError):
    """A different evaluation or output is already recorded there; records are never rewritten."""

    exit_code = 3
    kind = "conflict"


class LockNotAcquired(RoostError):
    """The lock is held by someone else and did not become free in time."""

    exit_code = 3
    kind = "not_acquired"
    retryable = True


class WaitTimeout(RoostError):
    """The wait ended before the condition was met."""

    exit_code = 3
    kind = "timed_out"
    retryable = True


class LeaseLost(RoostError):
    """The lease is no longer held: it expired and was taken over, was released, or was force-released."""

    exit_code = 4
    kind = "lease_lost"
