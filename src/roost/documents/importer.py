"""Import of a recac-style feature list: ``{"project_name": …, "features": [{"id": …, …}]}``.

The list becomes one document in the list collection (its fields but ``features``), and each
feature one document in the feature collection, keyed by its id (after an optional prefix) and
parented to the list. Every key a feature has is kept. The import is one transaction: all of it
or none. Collections that do not exist yet are declared (features indexed by ``status`` and
``priority``); existing ones are used as they are. Importing the same file again changes only the
documents whose content changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from roost import errors
from roost._op import Op, atomic
from roost.documents import collections as cols
from roost.documents import records


@dataclass(slots=True)
class Imported:
    list_key: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def check(data: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The list's own fields and its features, or InvalidArgument naming what is wrong."""
    if not isinstance(data, dict):
        raise errors.InvalidArgument("a feature list is a JSON object with a \"features\" array")
    features = data.get("features")
    if not isinstance(features, list):
        raise errors.InvalidArgument("the feature list has no \"features\" array")
    seen: set[str] = set()
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise errors.InvalidArgument(f"features[{i}] is not an object")
        ident = feature.get("id")
        if isinstance(ident, bool) or not isinstance(ident, str | int):
            raise errors.InvalidArgument(f"features[{i}] has no \"id\" (a string or a whole number)")
        if str(ident) in seen:
            raise errors.InvalidArgument(f"features[{i}] repeats the id {ident!r}")
        seen.add(str(ident))
    return {k: x for k, x in data.items() if k != "features"}, features


@atomic
def import_features(project: str, data: object, list_collection: str, feature_collection: str,
                    key: str | None, prefix: str, agent: str | None) -> Op[Imported]:
    head, features = check(data)
    list_key = records.key_of(key if key is not None else str(head.get("project_name") or ""))
    if (yield from cols.get(project, list_collection)) is None:
        yield from cols.declare(project, list_collection, cols.spec_of(None, (), "create", 20, None, "cascade",
                                                                        "keep", ()))
    features_coll = yield from cols.get(project, feature_collection)
    if features_coll is None:
        yield from cols.declare(project, feature_collection, cols.spec_of(
            None, (), "create", 20, list_collection, "cascade", "keep", ("status", "priority")))
    elif features_coll.parent != list_collection:
        raise errors.InvalidArgument(f"collection {feature_collection!r} is declared with parent "
                                     f"{features_coll.parent!r}, not {list_collection!r}")
    out = Imported(list_key)
    yield from _upsert(project, list_collection, list_key, head, None, agent, out, list_key)
    for feature in features:
        feature_key = records.key_of(f"{prefix}{feature['id']}")
        yield from _upsert(project, feature_collection, feature_key, feature, list_key, agent, out, feature_key)
    return out


def _upsert(project: str, collection: str, key: str, body: dict[str, Any], parent: str | None, agent: str | None,
            out: Imported, label: str) -> Op[None]:
    current = yield from records.get(project, collection, key, None)
    if current is not None:
        if parent is not None and current.parent != parent:
            raise errors.InvalidArgument(
                f"{collection}/{key} already belongs to {current.parent!r}, not {parent!r}; import with a key prefix "
                "(prefix=..., --prefix) to keep two lists' features apart. Nothing was imported")
        if records.same(current.body, body):
            out.unchanged.append(label)
            return
    yield from records.put(project, collection, key, body, None, parent, agent)
    (out.updated if current is not None else out.created).append(label)
