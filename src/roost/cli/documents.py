"""``roost doc``: document collections from the command line.

Bodies, patches and schemas are JSON given as an argument, ``-`` (standard input) or ``@PATH``
(a file). ``roost doc patch features auth --set status=done`` is the shorthand for one ``set``:
the value is JSON when it parses as JSON (``3``, ``true``, ``["a"]``, ``"3"``), else the text as
it is. Exit 3 when a collection or document does not exist, a version is stale or a delete is
restricted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from roost import errors
from roost.cli._common import Fail, common, emit, escape, new_table, print_json, read_input, read_json, store

if TYPE_CHECKING:
    from rich.console import Console

    from roost.documents.records import Document

JSON_HELP = "JSON, - for standard input or @PATH for a file."


@click.group()
def doc() -> None:
    """Typed, versioned documents: declare a collection, then put, patch, query and render."""


@doc.command("declare")
@click.argument("name")
@click.option("--schema", help=f"A JSON Schema the bodies must fit ({JSON_HELP})")
@click.option("--frozen", multiple=True, help="A path that may not change after --frozen-after (repeat).")
@click.option("--frozen-after", type=click.Choice(["create", "first_set"]), default="create", show_default=True,
              help="create: once the document exists; first_set: once the path holds a value.")
@click.option("--history", type=int, default=20, show_default=True, help="Earlier versions kept per document.")
@click.option("--parent", help="The collection of these documents' parents.")
@click.option("--on-parent-delete", type=click.Choice(["cascade", "restrict"]), default="cascade",
              show_default=True, help="Deleting a parent deletes its children, or is refused while it has any.")
@click.option("--unknown", type=click.Choice(["keep", "reject"]), default="keep", show_default=True,
              help="Fields the schema does not name: kept, or refused.")
@click.option("--index", "indexed", multiple=True, help="A path to query by (repeat).")
@common
def doc_declare(url: str | None, project: str | None, as_json: bool, name: str, schema: str | None,
                frozen: tuple[str, ...], frozen_after: str, history: int, parent: str | None, on_parent_delete: str,
                unknown: str, indexed: tuple[str, ...]) -> None:
    """Declare collection NAME (the same declaration again changes nothing); prints its version."""
    with store(url, project) as s:
        declared = s.documents.collection(name, read_json(schema, "--schema"), frozen=frozen,
                                          frozen_after=frozen_after, history=history, parent=parent,
                                          on_parent_delete=on_parent_delete, unknown=unknown, indexed=indexed)
    if as_json:
        print_json(declared)
    else:
        click.echo(f"{declared.version}" + ("" if declared.changed else " (unchanged)"))


@doc.command("collections")
@common
def doc_collections(url: str | None, project: str | None, as_json: bool) -> None:
    """List the project's collections."""
    with store(url, project) as s:
        found = s.documents.collections()

    def human(console: Console) -> None:
        table = new_table("name", "version", "parent", "frozen", "indexed", "history", box=None)
        for c in found:
            table.add_row(c.name, str(c.version), c.parent or "", escape(", ".join(c.frozen)),
                          escape(", ".join(c.indexed)), str(c.history))
        console.print(table if found else "no collections")

    emit(as_json, {"collections": found}, human)


@doc.command("put")
@click.argument("collection")
@click.argument("key")
@click.argument("body")
@click.option("--parent", help="The parent document's key (in the collection's parent collection).")
@click.option("--if-version", type=int, help="Only over this version (0: only if absent).")
@click.option("--agent", help="The agent writing it.")
@common
def doc_put(url: str | None, project: str | None, as_json: bool, collection: str, key: str, body: str,
            parent: str | None, if_version: int | None, agent: str | None) -> None:
    """Create or replace document KEY with BODY (a JSON object: JSON, - or @PATH); prints its version."""
    value = read_json(body, "BODY")
    with store(url, project) as s:
        written = s.documents.put(collection, key, value, expected_version=if_version, parent=parent, agent=agent)
    _written(as_json, written)


def _written(as_json: bool, written: Document) -> None:
    if as_json:
        print_json(written)
    else:
        click.echo(written.version)


@doc.command("get")
@click.argument("collection")
@click.argument("key")
@click.option("--version", "number", type=int, help="An earlier version (if the history still holds it).")
@common
def doc_get(url: str | None, project: str | None, as_json: bool, collection: str, key: str,
            number: int | None) -> None:
    """Print the document's body as JSON (--json: with its version, parent and times). Exit 3 if none."""
    with store(url, project) as s:
        found = s.documents.get(collection, key, version=number)
    if found is None:
        raise errors.DocumentNotFound(f"no document {collection}/{key}" + (f" version {number}" if number else ""))
    if as_json:
        print_json(found)
    else:
        click.echo(json.dumps(found.body, ensure_ascii=False, indent=2))


def split_assignment(text: str) -> tuple[str, str | None]:
    """``PATH=VALUE`` split at the first ``=`` outside brackets and quotes (a path may hold
    ``[id=auth]``); no ``=`` gives (PATH, None)."""
    depth, quoted = 0, False
    for i, ch in enumerate(text):
        if quoted:
            quoted = ch != '"' or text[i - 1] == "\\"
        elif ch == '"':
            quoted = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "=" and depth == 0:
            return text[:i], text[i + 1:]
    return text, None


def loose_value(text: str) -> Any:
    """JSON if it parses as JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def shorthand_ops(sets: tuple[str, ...], removes: tuple[str, ...], appends: tuple[str, ...],
                  increments: tuple[str, ...]) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    for item in sets:
        path, value = split_assignment(item)
        if value is None:
            raise Fail(f"--set {item!r} needs PATH=VALUE", 2)
        ops.append({"op": "set", "path": path, "value": loose_value(value)})
    for item in appends:
        path, value = split_assignment(item)
        if value is None:
            raise Fail(f"--append {item!r} needs PATH=VALUE", 2)
        ops.append({"op": "append", "path": path, "value": loose_value(value)})
    for item in increments:
        path, value = split_assignment(item)
        by = 1 if value is None else loose_value(value)
        ops.append({"op": "increment", "path": path, "by": by})
    ops += [{"op": "remove", "path": path} for path in removes]
    return ops


@doc.command("patch")
@click.argument("collection")
@click.argument("key")
@click.argument("ops", required=False)
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Set a value (repeat).")
@click.option("--append", "appends", multiple=True, metavar="PATH=VALUE", help="Append to an array (repeat).")
@click.option("--increment", "increments", multiple=True, metavar="PATH[=N]", help="Add N (1) to a number.")
@click.option("--remove", "removes", multiple=True, metavar="PATH", help="Remove a key or element (repeat).")
@click.option("--if-version", type=int, help="Only if the document is at this version.")
@click.option("--agent", help="The agent writing it.")
@common
def doc_patch(url: str | None, project: str | None, as_json: bool, collection: str, key: str, ops: str | None,
              sets: tuple[str, ...], appends: tuple[str, ...], increments: tuple[str, ...],
              removes: tuple[str, ...], if_version: int | None, agent: str | None) -> None:
    """Patch the document in one transaction; prints the new version. OPS is a JSON list of
    operations ({"op": "set"|"merge"|"remove"|"append"|"increment", "path": ..., ...}; JSON, - or
    @PATH); the options add shorthand operations after them."""
    given = read_json(ops, "OPS") if ops is not None else []
    listed = [given] if isinstance(given, dict) else given
    if not isinstance(listed, list):
        raise errors.InvalidArgument("OPS must be a JSON list of operations")
    every = listed + shorthand_ops(sets, removes, appends, increments)
    if not every:
        raise Fail("give OPS or at least one of --set, --append, --increment, --remove", 2)
    with store(url, project) as s:
        written = s.documents.patch(collection, key, every, expected_version=if_version, agent=agent)
    _written(as_json, written)


@doc.command("query")
@click.argument("collection")
@click.option("--where", "wheres", multiple=True, metavar="PATH=VALUE", help="An indexed path equals VALUE (repeat).")
@click.option("--where-json", help='Conditions as JSON: {"priority": {"$gte": 2}, "status": {"$in": [...]}}.')
@click.option("--parent", help="Only the children of this parent document.")
@click.option("--order-by", help="An indexed path to sort by (-path: highest first); default: by key.")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@click.option("--cursor", help="The cursor a previous page printed, for the next page.")
@common
def doc_query(url: str | None, project: str | None, as_json: bool, collection: str, wheres: tuple[str, ...],
              where_json: str | None, parent: str | None, order_by: str | None, limit: int,
              cursor: str | None) -> None:
    """Documents whose indexed paths match, in key order (or by --order-by)."""
    where: dict[str, Any] = {}
    if where_json is not None:
        given = read_json(where_json, "--where-json")
        if not isinstance(given, dict):
            raise errors.InvalidArgument("--where-json must be a JSON object")
        where.update(given)
    for item in wheres:
        path, value = split_assignment(item)
        if value is None:
            raise Fail(f"--where {item!r} needs PATH=VALUE", 2)
        where[path] = loose_value(value)
    with store(url, project) as s:
        page = s.documents.query(collection, where or None, parent=parent, order_by=order_by, limit=limit,
                                 cursor=cursor)

    def human(console: Console) -> None:
        table = new_table("key", "version", "parent", "updated", "body", box=None)
        for d in page.items:
            text = json.dumps(d.body, ensure_ascii=False)
            table.add_row(escape(d.key), str(d.version), escape(d.parent or ""), f"{d.updated_at:%Y-%m-%d %H:%M:%S}",
                          escape(text if len(text) <= 80 else text[:77] + "..."))
        console.print(table if page.items else "no documents")
        if page.cursor:
            console.print(f"more: --cursor {escape(page.cursor)}")

    emit(as_json, {"documents": page.items, "cursor": page.cursor}, human)


@doc.command("history")
@click.argument("collection")
@click.argument("key")
@common
def doc_history(url: str | None, project: str | None, as_json: bool, collection: str, key: str) -> None:
    """The document's versions, newest first: who, when, and the patch (or a whole put)."""
    with store(url, project) as s:
        found = s.documents.history(collection, key)

    def human(console: Console) -> None:
        table = new_table("version", "op", "agent", "at", "change", box=None)
        for v in found:
            change = "" if v.change is None else json.dumps(v.change, ensure_ascii=False)
            table.add_row(str(v.version), v.op, escape(v.agent or ""), f"{v.at:%Y-%m-%d %H:%M:%S}",
                          escape(change if len(change) <= 100 else change[:97] + "..."))
        console.print(table)

    emit(as_json, {"versions": found}, human)


@doc.command("diff")
@click.argument("collection")
@click.argument("key")
@click.argument("a", type=int)
@click.argument("b", type=int)
@common
def doc_diff(url: str | None, project: str | None, as_json: bool, collection: str, key: str, a: int, b: int) -> None:
    """What changed from version A to version B: + added, - removed, ~ changed, one path a line."""
    from roost.documents.history import as_json as changes_json

    with store(url, project) as s:
        changes = s.documents.diff(collection, key, a, b)
    if as_json:
        print_json({"changes": changes_json(changes)})
        return
    for c in changes:
        if c.kind == "added":
            click.echo(f"+ {c.path}: {json.dumps(c.after, ensure_ascii=False)}")
        elif c.kind == "removed":
            click.echo(f"- {c.path}: {json.dumps(c.before, ensure_ascii=False)}")
        else:
            click.echo(f"~ {c.path}: {json.dumps(c.before, ensure_ascii=False)} -> "
                       f"{json.dumps(c.after, ensure_ascii=False)}")


@doc.command("render")
@click.argument("collection")
@click.argument("key")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="Markdown for a prompt, or the body as indented JSON.")
@click.option("--version", "number", type=int, help="An earlier version.")
@common
def doc_render(url: str | None, project: str | None, as_json: bool, collection: str, key: str, fmt: str,
               number: int | None) -> None:
    """Print the document as Markdown (a heading per field, tables for lists of objects) or JSON."""
    with store(url, project) as s:
        text = s.documents.render(collection, key, "json" if as_json else fmt, version=number)
    click.echo(text, nl=False)


@doc.command("rm")
@click.argument("collection")
@click.argument("key")
@click.option("--if-version", type=int, help="Only if it is at this version.")
@common
def doc_rm(url: str | None, project: str | None, as_json: bool, collection: str, key: str,
           if_version: int | None) -> None:
    """Delete the document and, by the cascade rules, its children. Exit 3 if there is none, or if a
    child collection restricts the delete."""
    with store(url, project) as s:
        gone = s.documents.delete(collection, key, expected_version=if_version)
    if not gone:
        raise errors.DocumentNotFound(f"no document {collection}/{key}")
    emit(as_json, {"deleted": gone}, lambda c: c.print(f"deleted {gone} document(s)"))


@doc.command("import")
@click.argument("file")
@click.option("--collection", default="features", show_default=True, help="The collection of the features.")
@click.option("--list-collection", default="feature_lists", show_default=True, help="The collection of the list.")
@click.option("--key", help="The list document's key (default: its project_name).")
@click.option("--prefix", default="", help="Put before every feature id to make its key.")
@click.option("--agent", help="The agent importing.")
@common
def doc_import(url: str | None, project: str | None, as_json: bool, file: str, collection: str,
               list_collection: str, key: str | None, prefix: str, agent: str | None) -> None:
    """Import a feature list ({"project_name": ..., "features": [{"id": ...}, ...]}; a path, or -
    for standard input): one document per feature under one list document, all or nothing."""
    text = read_input(file if file == "-" else "@" + file, "FILE")
    from roost._validate import parse_json

    data = parse_json(text, "the feature list")
    with store(url, project) as s:
        done = s.documents.import_features(data, collection=collection, list_collection=list_collection, key=key,
                                           prefix=prefix, agent=agent)
    emit(as_json, done, lambda c: c.print(f"{escape(done.list_key)}: {len(done.created)} created, "
                                          f"{len(done.updated)} updated, {len(done.unchanged)} unchanged"))


def _ref(text: str) -> tuple[str, str]:
    collection, sep, key = text.partition("/")
    if not sep or not key:
        raise Fail(f"{text!r}: give a document as COLLECTION/KEY", 2)
    return collection, key


@doc.command("link")
@click.argument("src")
@click.argument("rel")
@click.argument("dst")
@click.option("--remove", is_flag=True, help="Take the link away instead.")
@common
def doc_link(url: str | None, project: str | None, as_json: bool, src: str, rel: str, dst: str, remove: bool) -> None:
    """Link document SRC to DST by REL (documents as COLLECTION/KEY)."""
    with store(url, project) as s:
        if remove:
            changed = s.documents.unlink(_ref(src), rel, _ref(dst))
        else:
            changed = s.documents.link(_ref(src), rel, _ref(dst))
    emit(as_json, {"changed": changed}, lambda c: c.print("done" if changed else "no change"))


@doc.command("links")
@click.argument("document")
@click.option("--rel", help="Only this relation.")
@click.option("--direction", type=click.Choice(["out", "in", "both"]), default="both", show_default=True,
              help="Links out of the document, into it, or both.")
@common
def doc_links(url: str | None, project: str | None, as_json: bool, document: str, rel: str | None,
              direction: str) -> None:
    """The links of DOCUMENT (COLLECTION/KEY), out of it and into it."""
    with store(url, project) as s:
        found = s.documents.links(_ref(document), rel, direction=direction)

    def human(console: Console) -> None:
        for link in found:
            arrow = "->" if link.direction == "out" else "<-"
            console.print(f"{escape(link.rel)} {arrow} {escape(link.collection)}/{escape(link.key)}")
        if not found:
            console.print("no links")

    emit(as_json, {"links": found}, human)
