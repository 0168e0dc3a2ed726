"""``store.documents``: the face of the documents area (arguments checked here, work in the ops)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from roost import _validate as v
from roost import errors
from roost.documents import collections as cols
from roost.documents import links, patches, queries, records, schemas
from roost.documents.collections import Collection
from roost.documents.links import Link, Ref
from roost.documents.records import Document
from roost.memory._common import Page

if TYPE_CHECKING:
    from roost.documents.history import Change, Version
    from roost.documents.importer import Imported
    from roost.store import Store

FORMATS = ("markdown", "json")


class Documents:
    """Typed, versioned document collections: see docs/documents.md."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._models: dict[str, Any] = {}
        self._declared: dict[str, Collection] = {}
        """Declarations remembered for queries, which check them against each answer."""

    @property
    def _project(self) -> str:
        return self._store.project

    def _agent(self, agent: str | None) -> str | None:
        return None if agent is None else v.name(agent, "agent", v.AGENT_NAME_MAX)

    def _typed(self, doc: Document | None) -> Document | None:
        """Give the document its model instance, in a process that declared the collection with a
        model. A body that does not fit this process's model class (written under an earlier
        declaration, or by a process with another version of the class) leaves ``model`` None
        rather than failing the read."""
        model = None if doc is None else self._models.get(doc.collection)
        if doc is not None and model is not None:
            try:
                doc.model = model.model_validate(doc.body)
            except ValueError:  # (pydantic's ValidationError is one)
                doc.model = None
        return doc

    # -- collections ---------------------------------------------------------------------------

    def collection(self, name: str, schema: Mapping[str, Any] | type | None = None, *, frozen: Iterable[str] = (),
                   frozen_after: str = "create", history: int = 20, parent: str | None = None,
                   on_parent_delete: str = "cascade", unknown: str = "keep",
                   indexed: Iterable[str] = ()) -> Collection:
        """Declare the collection ``name`` (idempotent). ``schema`` is a JSON Schema or a pydantic v2
        model class; ``frozen`` paths may not change after ``frozen_after`` ("create": once the
        document exists; "first_set": once the path holds a value); ``history`` previous versions
        are kept per document; ``parent`` names the collection of parent documents, and
        ``on_parent_delete`` says whether deleting a parent deletes its children ("cascade") or is
        refused while it has any ("restrict"); ``unknown="reject"`` refuses fields the schema does
        not name; ``indexed`` paths can be queried. A changed declaration is the collection's next
        version (``changed`` is True)."""
        name = cols.name(name)
        stored_schema, model = schemas.from_declaration(schema)
        spec = cols.spec_of(stored_schema, frozen, frozen_after, history, parent, on_parent_delete, unknown, indexed)
        declared = self._store._execute(cols.declare, self._project, name, spec)
        if model is not None:
            self._models[name] = model
        return declared

    def get_collection(self, name: str) -> Collection | None:
        """The collection's declaration, or None."""
        return self._store._execute(cols.get, self._project, cols.name(name))

    def collections(self) -> list[Collection]:
        """Every collection of the project, by name."""
        return self._store._execute(cols.listing, self._project)

    # -- documents -----------------------------------------------------------------------------

    def put(self, collection: str, key: str, body: Mapping[str, Any] | Any, *, expected_version: int | None = None,
            parent: str | None = None, agent: str | None = None) -> Document:
        """Create or replace the document (a JSON object up to 1 MiB, or a model instance).
        ``expected_version=N`` writes only over version N, ``0`` only if absent. ``parent`` is a key
        in the collection's parent collection (a replace without it keeps the parent it had)."""
        if hasattr(body, "model_dump") and not isinstance(body, Mapping):
            body = body.model_dump(mode="json")
        expected = self._expected(expected_version, 0)
        parent_key = None if parent is None else records.key_of(parent)
        doc = self._store._execute(records.put, self._project, cols.name(collection), records.key_of(key),
                                   dict(body) if isinstance(body, Mapping) else body, expected, parent_key,
                                   self._agent(agent))
        return self._typed(doc) or doc

    def patch(self, collection: str, key: str, ops: Sequence[Mapping[str, Any]] | Mapping[str, Any], *,
              expected_version: int | None = None, agent: str | None = None) -> Document:
        """Apply patch operations (see :mod:`roost.documents.patches`) in one write transaction."""
        checked = patches.check(ops)
        expected = self._expected(expected_version, 1)
        doc = self._store._execute(records.patch, self._project, cols.name(collection), records.key_of(key),
                                   checked, expected, self._agent(agent))
        return self._typed(doc) or doc

    def set(self, collection: str, key: str, path: str, value: Any, **options: Any) -> Document:
        """Shorthand for a patch of one ``set``."""
        return self.patch(collection, key, [{"op": "set", "path": path, "value": value}], **options)

    def get(self, collection: str, key: str, *, version: int | None = None) -> Document | None:
        """The document (or one of its kept earlier versions), or None."""
        number = None if version is None else v.integer(version, "version", 1, 2**62)
        return self._typed(self._store._execute(records.get, self._project, cols.name(collection),
                                                records.key_of(key), number))

    def delete(self, collection: str, key: str, *, expected_version: int | None = None) -> int:
        """Delete the document and, by the cascade rules, what is below it, with their history and
        links; returns how many documents went (0: there was none)."""
        expected = self._expected(expected_version, 1)
        return self._store._execute(records.delete, self._project, cols.name(collection), records.key_of(key),
                                    expected)

    def query(self, collection: str, where: Mapping[str, Any] | None = None, *, parent: str | None = None,
              order_by: str | None = None, limit: int = 100, cursor: str | None = None) -> Page[Document]:
        """Documents whose indexed paths match ``where`` ({path: value | {"$in"|"$nin"|"$ne"|"$gt"|
        "$gte"|"$lt"|"$lte": …}}), in key order, or by the indexed path ``order_by`` ("priority",
        "-priority" for highest first; documents without a value there are left out). Pass the
        page's ``cursor`` for the next page."""
        limit = v.integer(limit, "limit", 1, queries.LIMIT_MAX)
        order = queries.order_of(order_by)
        after = queries.cursor_of(cursor, order)
        name = cols.name(collection)
        page, declared = self._store._execute(queries.query, self._project, name, where,
                                              None if parent is None else records.key_of(parent), limit, after,
                                              order, self._declared.get(name))
        self._declared[name] = declared
        for doc in page.items:
            self._typed(doc)
        return page

    # -- history -------------------------------------------------------------------------------

    def history(self, collection: str, key: str) -> list[Version]:
        """The document's versions, newest first: the current one and those kept."""
        from roost.documents import history as hist

        return self._store._execute(hist.history, self._project, cols.name(collection), records.key_of(key))

    def diff(self, collection: str, key: str, a: int, b: int) -> list[Change]:
        """What changed from version ``a`` to version ``b``, path by path."""
        from roost.documents import history as hist

        a, b = v.integer(a, "version a", 1, 2**62), v.integer(b, "version b", 1, 2**62)
        return self._store._execute(hist.diff, self._project, cols.name(collection), records.key_of(key), a, b)

    # -- links ---------------------------------------------------------------------------------

    def link(self, src: Ref, rel: str, dst: Ref) -> bool:
        """Link ``src`` (a (collection, key) pair) to ``dst`` by ``rel``; False if it already was."""
        return self._store._execute(links.link, self._project, self._ref(src), links.rel_of(rel), self._ref(dst),
                                    False)

    def unlink(self, src: Ref, rel: str, dst: Ref) -> bool:
        return self._store._execute(links.link, self._project, self._ref(src), links.rel_of(rel), self._ref(dst),
                                    True)

    def links(self, doc: Ref, rel: str | None = None, *, direction: str = "both") -> list[Link]:
        """The document's links: ``out`` (it links to), ``in`` (link to it) or ``both``."""
        if direction not in ("out", "in", "both"):
            raise errors.InvalidArgument(f"direction must be 'out', 'in' or 'both', not {direction!r}")
        return self._store._execute(links.links, self._project, self._ref(doc),
                                    None if rel is None else links.rel_of(rel), direction)

    # -- render and import ---------------------------------------------------------------------

    def render(self, collection: str, key: str, format: str = "markdown", *, version: int | None = None) -> str:
        """The document as Markdown (a heading per top-level field) or as indented JSON."""
        if format not in FORMATS:
            raise errors.InvalidArgument(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        doc = self.get(collection, key, version=version)
        if doc is None:
            raise errors.DocumentNotFound(f"no document {collection}/{key}")
        if format == "json":
            import json

            return json.dumps(doc.body, ensure_ascii=False, indent=2) + "\n"
        from roost.documents import render

        declared = self.get_collection(collection)
        assert declared is not None
        return render.markdown(declared, doc)

    def import_features(self, data: object, *, collection: str = "features", list_collection: str = "feature_lists",
                        key: str | None = None, prefix: str = "", agent: str | None = None) -> Imported:
        """Load a recac-style feature list as one document per feature under one list document."""
        from roost.documents import importer

        if not isinstance(prefix, str):
            raise errors.InvalidArgument("prefix must be a string")
        return self._store._execute(importer.import_features, self._project, data, cols.name(list_collection),
                                    cols.name(collection), key, prefix, self._agent(agent))

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _expected(value: int | None, low: int) -> int | None:
        return None if value is None else v.integer(value, "expected_version", low, 2**62)

    @staticmethod
    def _ref(ref: object) -> Ref:
        if not isinstance(ref, tuple | list) or len(ref) != 2:
            raise errors.InvalidArgument(f"a document is given as (collection, key), not {v.shown(ref)}")
        return cols.name(ref[0]), records.key_of(ref[1])
