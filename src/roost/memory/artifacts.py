"""Artifacts: files and text an agent team produces (reports, patches, builds), with versions.

Every put of a name is a new version; version numbers only grow, even after deletes. Content is
addressed by SHA-256 and stored once per project however many versions or names share it, in
chunks of ``CHUNK_BYTES``. Large content is never held whole in memory: a put reads its source a
chunk at a time and writes each chunk in a short transaction of its own (so other writers are not
held up for the length of an upload) into an upload that nothing can see; a last transaction names
it by its hash (or drops it, if that content is stored already) and adds the version. A put killed
half-way leaves an unfinished upload, which no version points at and ``cleanup()`` removes.
Content no version uses any more is removed by ``cleanup()`` too.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from roost import _validate as v
from roost import errors
from roost._op import Op, Query, atomic, repeatable, to_datetime
from roost.memory import _common as c

if TYPE_CHECKING:
    from roost.store import Store

CHUNK_BYTES = 2**20
UPLOAD_MAX_AGE = 86400.0
Source = bytes | bytearray | memoryview | str | BinaryIO | TextIO | Iterable[bytes | str]


@dataclass(slots=True)
class Artifact:
    """One version of an artifact. ``content`` is filled by :meth:`Artifacts.get` only."""

    name: str
    version: int
    size: int
    sha256: str
    type: str | None
    format: str | None
    is_text: bool
    session: str | None
    task: int | None
    metadata: dict[str, Any]
    created_at: datetime
    content: bytes | None = field(default=None, repr=False)
    _blob: int = field(default=0, repr=False)
    _chunks: int = field(default=0, repr=False)

    def text(self) -> str:
        """The content as text (UTF-8)."""
        if self.content is None:
            raise errors.InvalidArgument("this record has no content: read it with artifacts.get()")
        return self.content.decode("utf-8")


def artifact_of(row: tuple[Any, ...]) -> Artifact:
    (_id, name, version, size, sha, type_, format_, is_text, session, task, metadata, created, blob,
     chunks) = row
    return Artifact(name, int(version), int(size), sha, type_, format_, bool(is_text), session,
                    None if task is None else int(task), c.decode_object(metadata), to_datetime(created),
                    None, int(blob), int(chunks))


def _add_version(params: dict[str, Any], blob: int, chunks: int) -> Op[Artifact]:
    version = (yield Query("artifact_next_version", {"project": params["project"], "name": params["name"]})).scalar()
    row = (yield Query("artifact_insert", {**params, "version": int(version), "blob": blob, "chunks": chunks})).one()
    assert row is not None
    return artifact_of(row)


def _quota_check(params: dict[str, Any], quota: int) -> Op[None]:
    if quota:
        used = int((yield Query("artifact_usage", {"project": params["project"]})).scalar() or 0)
        if used + params["size"] > quota:
            raise errors.QuotaExceeded(
                f"artifact {params['name']!r} ({params['size']:,} bytes) would take project "
                f"{params['project']!r} to {used + params['size']:,} bytes; artifact_project_quota_bytes is "
                f"{quota:,}")


@atomic
def put_whole(params: dict[str, Any], data: bytes, quota: int) -> Op[Artifact]:
    """A put whose content fits in one chunk: everything in one transaction."""
    chunks = 1 if data else 0
    found = (yield Query("blob_touch", {"project": params["project"], "sha256": params["sha256"]})).scalar()
    if found is None:
        yield from _quota_check(params, quota)
        found = (yield Query("blob_insert", {"project": params["project"], "sha256": params["sha256"],
                                             "size": params["size"], "chunks": chunks,
                                             "search_text": params["search_text"],
                                             "search": params["search"]})).scalar()
        if data:
            yield Query("chunk_put", {"blob": found, "seq": 0, "data": data})
    return (yield from _add_version(params, int(found), chunks))


def begin_upload(project: str) -> Op[int]:
    return int((yield Query("blob_begin", {"project": project})).scalar())


def put_chunk(blob: int, seq: int, data: bytes) -> Op[None]:
    yield Query("chunk_put", {"blob": blob, "seq": seq, "data": data})


@atomic
def finish_upload(params: dict[str, Any], upload: int, chunks: int, quota: int) -> Op[Artifact]:
    """Name the upload by its hash, or drop it if the project stores that content already; then
    add the version. A blob in use is touched (and so locked) first, so cleanup cannot take it."""
    found = (yield Query("blob_touch", {"project": params["project"], "sha256": params["sha256"]})).scalar()
    if found is not None:
        yield Query("blob_drop", {"blob": upload})
        return (yield from _add_version(params, int(found), chunks))
    yield from _quota_check(params, quota)
    named = (yield Query("blob_finish", {"blob": upload, "sha256": params["sha256"], "size": params["size"],
                                         "chunks": chunks, "search_text": params["search_text"],
                                         "search": params["search"]})).one()
    if named is None:
        raise errors.RoostError(f"the upload of artifact {params['name']!r} was removed by cleanup before it "
                                "finished (uploads idle for a day are taken as abandoned); put it again")
    return (yield from _add_version(params, upload, chunks))


def drop_upload(blob: int) -> Op[None]:
    yield Query("blob_drop", {"blob": blob})


@repeatable
def find(project: str, name: str, version: int | None) -> Op[Artifact | None]:
    row = (yield Query("artifact_get", {"project": project, "name": name, "version": version})).one()
    return None if row is None else artifact_of(row)


@repeatable
def read_chunk(blob: int, seq: int) -> Op[bytes | None]:
    data = (yield Query("chunk_get", {"blob": blob, "seq": seq})).scalar()
    return None if data is None else bytes(data)


@repeatable
def listing(params: dict[str, Any]) -> Op[list[Artifact]]:
    return [artifact_of(r) for r in (yield Query("artifact_list", params)).rows]


@atomic
def delete(project: str, name: str, version: int | None) -> Op[int]:
    return len((yield Query("artifact_delete", {"project": project, "name": name, "version": version})).rows)


class ArtifactStream:
    """The content of one artifact version, read a chunk at a time: iterate it for ``bytes``
    chunks of up to 1 MiB, or ``copy_to`` a binary file. ``artifact`` is the version's record."""

    def __init__(self, store: Store, artifact: Artifact) -> None:
        self._store = store
        self.artifact = artifact

    def __iter__(self) -> Iterator[bytes]:
        for seq in range(self.artifact._chunks):
            yield self.read_chunk(seq)

    def read_chunk(self, seq: int) -> bytes:
        data = self._store._execute(read_chunk, self.artifact._blob, seq)
        if data is None:
            raise errors.ArtifactNotFound(f"artifact {self.artifact.name!r} version {self.artifact.version} was "
                                          "deleted, and its content cleaned up, while it was being read")
        return data

    def copy_to(self, out: BinaryIO) -> int:
        """Write the whole content to ``out``; returns the number of bytes written."""
        written = 0
        for chunk in self:
            out.write(chunk)
            written += len(chunk)
        return written


class Artifacts:
    """``store.artifacts``: versioned, content-addressed files and text, streamed in chunks."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _name(self, name: object) -> str:
        return v.name(name, "artifact name", c.ARTIFACT_NAME_MAX)

    def put(self, name: str, data: Source, *, type: str | None = None, format: str | None = None,
            session: str | None = None, task: int | None = None, metadata: dict[str, Any] | None = None) -> Artifact:
        """Store a new version of ``name``. ``data`` is bytes, a str (stored as UTF-8, marked as
        text), a file object opened in binary or text mode, or an iterable of bytes or str chunks.
        Refused with :class:`~roost.errors.TooLarge` past ``artifact_max_bytes`` and with
        :class:`~roost.errors.QuotaExceeded` past ``artifact_project_quota_bytes``."""
        settings = self._store.settings
        params: dict[str, Any] = {
            "project": self._store.project,
            "name": self._name(name),
            "type": c.optional_label(type, "artifact type"),
            "format": c.optional_label(format, "artifact format"),
            "session": c.optional_session(session),
            "task": None if task is None else v.integer(task, "task", 1, 2**62),
            "metadata": c.metadata(metadata),
        }
        limit, quota = settings.artifact_max_bytes, settings.artifact_project_quota_bytes
        reader = _Reader(data, params["name"], limit)
        first = reader.next_chunk()
        second = reader.next_chunk() if first is not None else None
        if second is None:
            whole = first or b""
            params.update(size=len(whole), sha256=reader.hasher.hexdigest(), is_text=reader.is_text,
                          **self._search_fields(reader.is_text, whole))
            return self._execute_put(put_whole, params, whole, quota)
        return self._stream(params, reader, [first or b"", second], quota)

    def _search_fields(self, is_text: bool, head: bytes) -> dict[str, Any]:
        """What search indexes of a text artifact: the text of its first chunk (at most
        tokens.INDEXED_CHARS characters); nothing of other content."""
        if not is_text:
            return {"search_text": None, "search": None}
        from roost.search import tokens

        text = tokens.indexed_text(head)
        return {"search_text": text, "search": c.search_vector(self._store, text)}

    def _execute_put(self, op: Any, params: dict[str, Any], *args: Any) -> Artifact:
        """Run a put's final transaction. A constraint it breaks is either an unknown session or
        the same content stored by a concurrent put between our look and our write (the unique
        index on the hash caught it): then it runs once more, and finds that content."""
        try:
            return self._store._execute(op, params, *args)  # type: ignore[no-any-return]
        except errors.ConstraintViolation:
            if (missing := c.unknown_session(self._store, params["session"])) is not None:
                raise missing from None
            return self._store._execute(op, params, *args)  # type: ignore[no-any-return]

    def _stream(self, params: dict[str, Any], reader: _Reader, head: list[bytes], quota: int) -> Artifact:
        upload = self._store._execute(begin_upload, params["project"])
        try:
            seq = 0
            for chunk in itertools.chain(head, iter(reader.next_chunk, None)):
                self._store._execute(put_chunk, upload, seq, chunk)
                seq += 1
            params.update(size=reader.size, sha256=reader.hasher.hexdigest(), is_text=reader.is_text,
                          **self._search_fields(reader.is_text, head[0]))
            return self._execute_put(finish_upload, params, upload, seq, quota)
        except BaseException:
            with contextlib.suppress(errors.RoostError):  # (else cleanup removes it later)
                self._store._execute(drop_upload, upload)
            raise

    def _find(self, name: str, version: int | None) -> Artifact:
        name = self._name(name)
        number = None if version is None else v.integer(version, "version", 1, 2**62)
        found = self._store._execute(find, self._store.project, name, number)
        if found is None:
            which = "versions" if number is None else f"version {number}"
            raise errors.ArtifactNotFound(f"artifact {name!r} has no {which} in project {self._store.project!r}")
        return found

    def info(self, name: str, version: int | None = None) -> Artifact:
        """The record of a version (the newest when ``version`` is None), without its content."""
        return self._find(name, version)

    def get(self, name: str, version: int | None = None) -> Artifact:
        """A version with its whole ``content`` (bytes). For big content prefer :meth:`open`."""
        found = self._find(name, version)
        found.content = b"".join(ArtifactStream(self._store, found))
        return found

    def open(self, name: str, version: int | None = None) -> ArtifactStream:
        """The content of a version, to read a chunk at a time (never held whole in memory)."""
        return ArtifactStream(self._store, self._find(name, version))

    def list(self, *, session: str | None = None, type: str | None = None, prefix: str = "",
             all_versions: bool = False, limit: int = 100, cursor: str | None = None) -> c.Page[Artifact]:
        """The newest version of each artifact (or every version), by name; filters apply to the
        version listed. Pass the returned page's ``cursor`` for the next page."""
        after, after_version = _list_cursor(cursor)
        want = c.limit(limit)
        params = {
            "project": self._store.project,
            "prefix": v.prefix(prefix, "prefix", c.ARTIFACT_NAME_MAX),
            "after": after,
            "after_version": after_version,
            "all": bool(all_versions),
            "session": c.optional_session(session),
            "type": c.optional_label(type, "artifact type"),
            "limit": want + 1,
        }
        found = self._store._execute(listing, params)
        more = len(found) > want
        last = found[want - 1] if more else None
        return c.Page(found[:want], f"{last.version}:{last.name}" if last else None)

    def delete(self, name: str, version: int | None = None) -> int:
        """Delete one version, or every version of ``name``; returns how many were deleted. Their
        content is removed by :meth:`cleanup` once no other version uses it."""
        number = None if version is None else v.integer(version, "version", 1, 2**62)
        return self._store._execute(delete, self._store.project, self._name(name), number)

    def cleanup(self, upload_age: float = UPLOAD_MAX_AGE) -> int:
        """Remove content no version uses, and uploads idle for ``upload_age`` seconds (their writer
        died mid-put); returns how many blobs were removed."""
        from roost.maintenance import cleanup

        age = v.seconds(upload_age, "upload_age", 0, 10 * 365 * 86400)
        return (cleanup.remove(self._store, "retention_artifact_uploads", age=age)
                + cleanup.remove(self._store, "retention_artifact_blobs"))


def _list_cursor(cursor: object) -> tuple[str, int]:
    if cursor is None:
        return "", 0
    if isinstance(cursor, str) and ":" in cursor:
        number, _, name = cursor.partition(":")
        if number.isdigit() and len(number) <= 19 and name:
            return name, int(number)
    raise errors.InvalidArgument(f"cursor {v.shown(cursor)} is not a cursor roost returned")


class _Reader:
    """Turns any accepted source into chunks of exactly CHUNK_BYTES (the last may be shorter),
    hashing and counting as it goes, and refusing content past ``limit`` as soon as it gets there."""

    def __init__(self, data: Source, name: str, limit: int) -> None:
        self.name, self.limit = name, limit
        self.size = 0
        self.hasher = hashlib.sha256()
        self.is_text = isinstance(data, str)
        self._buffer = bytearray()
        self._done = False
        self._pieces: Iterator[bytes | str]
        if isinstance(data, str):
            self._pieces = iter([data])
        elif isinstance(data, bytes | bytearray | memoryview):
            self._pieces = iter([bytes(data)])
        elif hasattr(data, "read"):
            self._pieces = iter(lambda: data.read(CHUNK_BYTES), data.read(0))
        elif isinstance(data, Iterable):
            self._pieces = iter(data)
        else:
            raise errors.InvalidArgument(
                f"artifact data must be bytes, str, a file object or an iterable of chunks, not {type(data).__name__}")

    def _encode(self, piece: bytes | str) -> bytes:
        if isinstance(piece, str):
            self.is_text = True
            try:
                return piece.encode("utf-8")
            except UnicodeEncodeError:
                raise errors.InvalidArgument(f"the text of artifact {self.name!r} is not valid Unicode "
                                             "(it holds a lone surrogate)") from None
        if isinstance(piece, bytes | bytearray | memoryview):
            return bytes(piece)
        raise errors.InvalidArgument(f"a chunk of artifact {self.name!r} is a {type(piece).__name__}, "
                                     "not bytes or str")

    def next_chunk(self) -> bytes | None:
        while len(self._buffer) < CHUNK_BYTES and not self._done:
            piece = next(self._pieces, None)
            if piece is None:
                self._done = True
                break
            encoded = self._encode(piece)
            self.size += len(encoded)
            if self.size > self.limit:
                raise errors.TooLarge(f"artifact {self.name!r} is over {self.limit:,} bytes (read "
                                      f"{self.size:,} so far); artifact_max_bytes is {self.limit:,}")
            self.hasher.update(encoded)
            self._buffer += encoded
        if not self._buffer:
            return None
        chunk = bytes(self._buffer[:CHUNK_BYTES])
        del self._buffer[:CHUNK_BYTES]
        return chunk
