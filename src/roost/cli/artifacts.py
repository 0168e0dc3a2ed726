"""``roost artifact``: versioned files and text, streamed in chunks (binary-safe both ways).

``put`` reads a file or standard input a chunk at a time; ``get`` writes the content to standard
output or ``-o FILE`` a chunk at a time, as bytes, so a 200 MB build goes through without being held
in memory. Exit 3 when an artifact or version does not exist.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from roost.cli._common import Fail, common, emit, escape, new_table, print_json, read_json, store

if TYPE_CHECKING:
    from rich.console import Console

    from roost.memory.artifacts import Artifact


def record(a: Artifact) -> dict[str, Any]:
    """An artifact version for --json (without its content)."""
    return {"name": a.name, "version": a.version, "size": a.size, "sha256": a.sha256, "type": a.type,
            "format": a.format, "is_text": a.is_text, "session": a.session, "task": a.task,
            "metadata": a.metadata, "created_at": a.created_at}


@click.group()
def artifact() -> None:
    """Versioned, content-addressed artifacts (files, reports, builds)."""


@artifact.command("put")
@click.argument("name")
@click.argument("source", metavar="FILE|-")
@click.option("--type", "type_", help="A name for the kind of artifact (report, patch, build, …).")
@click.option("--format", "format_", help="A format name (text/markdown, application/zip, …).")
@click.option("--text", is_flag=True, help="Mark the content as text (UTF-8); default: binary.")
@click.option("--session", help="The session it belongs to.")
@click.option("--task", type=int, help="The task that produced it.")
@click.option("--metadata", help="A JSON object (@PATH reads a file).")
@common
def artifact_put(url: str | None, project: str | None, as_json: bool, name: str, source: str, type_: str | None,
                 format_: str | None, text: bool, session: str | None, task: int | None,
                 metadata: str | None) -> None:
    """Store FILE (or standard input, -) as a new version of NAME; prints the version."""
    meta = read_json(metadata, "--metadata")
    try:
        handle = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    except OSError as exc:
        raise Fail(f"cannot read {source!r}: {exc.strerror or exc}") from None
    try:
        data: Any = _decoded(handle) if text else handle
        with store(url, project) as s:
            stored = s.artifacts.put(name, data, type=type_, format=format_, session=session, task=task,
                                     metadata=meta)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if as_json:
        print_json(record(stored))
    else:
        click.echo(stored.version)


def _decoded(handle: Any) -> Any:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in iter(lambda: handle.read(1 << 20), b""):
            yield decoder.decode(block)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise Fail("--text was given, but the content is not UTF-8") from None


@artifact.command("get")
@click.argument("name")
@click.option("--version", "version", type=int, help="This version (default: the newest).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (default: stdout).")
@common
def artifact_get(url: str | None, project: str | None, as_json: bool, name: str, version: int | None,
                 output: str | None) -> None:
    """Write NAME's content to standard output (bytes, exactly) or -o FILE. With --json, print the
    version's record instead (and write the content only with -o)."""
    with store(url, project) as s:
        stream = s.artifacts.open(name, version)
        if output is not None:
            with open(output, "wb") as out:
                stream.copy_to(out)
        elif not as_json:
            stream.copy_to(sys.stdout.buffer)
            sys.stdout.buffer.flush()
    if as_json:
        print_json(record(stream.artifact))


def _artifact_table(console: Console, found: list[Artifact]) -> None:
    table = new_table("name", "version", "size", "type", "session", "sha256", "created", box=None)
    for a in found:
        table.add_row(escape(a.name), str(a.version), f"{a.size:,}", a.type or "", escape(a.session or ""),
                      a.sha256[:12], f"{a.created_at:%Y-%m-%d %H:%M:%S}")
    console.print(table if found else "no artifacts")


@artifact.command("list")
@click.option("--prefix", default="", help="Only names that start with this.")
@click.option("--session", help="Only this session's.")
@click.option("--type", "type_", help="Only this type.")
@click.option("--all-versions", is_flag=True, help="Every version, not only the newest.")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@click.option("--cursor", help="The cursor a previous page printed, for the next page.")
@common
def artifact_list(url: str | None, project: str | None, as_json: bool, prefix: str, session: str | None,
                  type_: str | None, all_versions: bool, limit: int, cursor: str | None) -> None:
    """List artifacts by name (the newest version of each)."""
    with store(url, project) as s:
        page = s.artifacts.list(prefix=prefix, session=session, type=type_, all_versions=all_versions, limit=limit,
                                cursor=cursor)

    def human(console: Console) -> None:
        _artifact_table(console, page.items)
        if page.cursor:
            console.print(f"more: --cursor {escape(page.cursor)}")

    emit(as_json, {"artifacts": [record(a) for a in page], "cursor": page.cursor}, human)


@artifact.command("rm")
@click.argument("name")
@click.option("--version", "version", type=int, help="Only this version (default: every version).")
@common
def artifact_rm(url: str | None, project: str | None, as_json: bool, name: str, version: int | None) -> None:
    """Delete NAME (or one version of it). Exit 3 if there was nothing to delete."""
    from roost import errors

    with store(url, project) as s:
        removed = s.artifacts.delete(name, version)
    if not removed:
        which = f"version {version}" if version is not None else "versions"
        raise errors.ArtifactNotFound(f"artifact {name!r} has no {which}")
    emit(as_json, {"name": name, "deleted": removed}, lambda c: c.print(f"deleted {removed} version(s)"))


@artifact.command("cleanup")
@click.option("--upload-age", type=float, default=86400.0, show_default=True,
              help="Seconds an unfinished upload may sit idle before it counts as abandoned.")
@common
def artifact_cleanup(url: str | None, project: str | None, as_json: bool, upload_age: float) -> None:
    """Remove content no version uses any more, and abandoned uploads."""
    with store(url, project) as s:
        removed = s.artifacts.cleanup(upload_age)
    emit(as_json, {"removed": removed}, lambda c: c.print(f"removed {removed} blob(s)"))
