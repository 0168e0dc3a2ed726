"""Documents as tools: versioned JSON records in declared collections (feature lists, specs,
plans), written whole or by patch, with optimistic concurrency and frozen fields."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from roost import errors
from roost.documents.history import Version
from roost.documents.records import Document
from roost.mcp._toolbox import Caller, Toolbox, arg

tools = Toolbox("documents")

CollectionName = Annotated[str, arg("the collection, e.g. 'features' or 'specs'")]
Key = Annotated[str, arg("the document's key within its collection")]
Expected = Annotated[int | None, arg("write only if the document is at this version (0: only if new)")]


@dataclass(slots=True)
class Doc:
    """One version of a document; pass ``version`` as expected_version to write it again safely."""

    collection: str
    key: str
    body: dict[str, Any]
    version: int
    parent: str | None
    agent: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class DocPage:
    """Documents, and the ``cursor`` for the next page (null: this was the last)."""

    documents: list[Doc]
    cursor: str | None


def _doc(d: Document) -> Doc:
    return Doc(d.collection, d.key, d.body, d.version, d.parent, d.agent, d.created_at, d.updated_at)


@tools.tool(read_only=True)
def doc_get(
    caller: Caller,
    collection: CollectionName,
    key: Key,
    version: Annotated[int | None, arg("an earlier version (null: the current one)", ge=1)] = None,
) -> Doc:
    """Read a document (or one of its kept earlier versions)."""
    found = caller.store.documents.get(collection, key, version=version)
    if found is None:
        raise errors.DocumentNotFound(f"no document {collection}/{key}" + (f" at version {version}" if version else ""))
    return _doc(found)


@tools.tool()
def doc_put(
    caller: Caller,
    collection: CollectionName,
    key: Key,
    body: Annotated[dict[str, Any], arg("the whole document (a JSON object), checked against the collection's schema")],
    expected_version: Expected = None,
    parent: Annotated[str | None, arg("the key of its parent document, in collections that have one")] = None,
) -> Doc:
    """Write a whole document. Frozen fields may not change; a version mismatch is a retryable conflict."""
    return _doc(caller.store.documents.put(collection, key, body, expected_version=expected_version, parent=parent,
                                           agent=caller.agent))


@tools.tool()
def doc_patch(
    caller: Caller,
    collection: CollectionName,
    key: Key,
    ops: Annotated[list[dict[str, Any]], arg(
        "operations, applied in order: {'op': 'set', 'path': 'status', 'value': 'done'}; 'merge' (value, optional "
        "path: an RFC 7396 merge), 'remove' (path), 'append' (path, value, optional max_len), 'increment' (path, "
        "optional by). Paths are dotted, with [n] or [id=x] for array elements: 'steps[id=s1].done'")],
    expected_version: Annotated[int | None, arg("apply only if the document is at this version")] = None,
) -> Doc:
    """Change part of a document: all operations apply, or none. Two agents patching different
    fields of one document both keep their change."""
    return _doc(caller.store.documents.patch(collection, key, ops, expected_version=expected_version,
                                             agent=caller.agent))


@tools.tool(read_only=True)
def doc_query(
    caller: Caller,
    collection: CollectionName,
    where: Annotated[dict[str, Any] | None, arg("indexed paths and the values they must equal, e.g. "
                                                "{'status': 'open'}; {'$in'|'$nin'|'$ne'|'$gt'|'$gte'|'$lt'|'$lte': …} "
                                                "compares")] = None,
    parent: Annotated[str | None, arg("only the children of this parent key")] = None,
    order_by: Annotated[str | None, arg("an indexed path to sort by ('-path' descending; default: key order)")] = None,
    limit: Annotated[int, arg("at most this many", ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, arg("the cursor of the previous page")] = None,
) -> DocPage:
    """Find the documents of a collection that match."""
    page = caller.store.documents.query(collection, where, parent=parent, order_by=order_by, limit=limit,
                                        cursor=cursor)
    return DocPage([_doc(d) for d in page.items], page.cursor)


@tools.tool(read_only=True)
def doc_history(caller: Caller, collection: CollectionName, key: Key) -> list[Version]:
    """The versions of a document that are kept, newest first: who wrote each, when, and the patch
    that made it (null: a whole body was put)."""
    return caller.store.documents.history(collection, key)


@dataclass(slots=True)
class Rendered:
    """A document rendered as Markdown."""

    markdown: str


@tools.tool(read_only=True)
def doc_render(
    caller: Caller,
    collection: CollectionName,
    key: Key,
    version: Annotated[int | None, arg("an earlier version (null: the current one)", ge=1)] = None,
) -> Rendered:
    """A document as Markdown, for reading or for a prompt."""
    return Rendered(caller.store.documents.render(collection, key, "markdown", version=version))
