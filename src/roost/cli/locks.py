"""``roost lock``: leased locks with fencing tokens, from a shell.

``acquire`` prints the token that ``renew`` and ``release`` need. Exit 3 when a lock is held by
someone else, 4 when a lease was lost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from roost.cli._common import (
    OWNER_HELP,
    ago,
    claimed_owner,
    cli_owner,
    common,
    emit,
    escape,
    new_table,
    print_json,
    store,
)

if TYPE_CHECKING:
    from rich.console import Console

    from roost.locks import Lease


@click.group()
def lock() -> None:
    """Leased locks with fencing tokens (for example on file paths)."""


def _lease_out(as_json: bool, lease: Lease) -> None:
    if as_json:
        print_json(lease)
    else:
        click.echo(lease.token)


@lock.command("acquire")
@click.argument("name")
@click.option("--ttl", type=float, default=60.0, show_default=True, help="Seconds the lease lasts unless renewed.")
@click.option("--shared", is_flag=True, help="A shared lease: any number of shared holders, no exclusive one.")
@click.option("--wait", type=float, default=0.0, show_default=True, help="Seconds to wait for the lock.")
@click.option("--owner", help=OWNER_HELP)
@common
def lock_acquire(url: str | None, project: str | None, as_json: bool, name: str, ttl: float, shared: bool,
                 wait: float, owner: str | None) -> None:
    """Acquire NAME; prints the fencing token. Exit 3 if it is held by someone else."""
    with store(url, project) as s:
        lease = s.locks.acquire(name, owner=cli_owner(owner), ttl=ttl, mode="shared" if shared else "exclusive",
                                wait=wait)
        if lease is None:
            raise s.locks.not_acquired(name, cli_owner(owner), wait)
    _lease_out(as_json, lease)


@lock.command("renew")
@click.argument("name")
@click.option("--token", type=int, required=True, help="The token acquire printed.")
@click.option("--ttl", type=float, default=60.0, show_default=True, help="Seconds from now.")
@click.option("--owner", help="Check that this owner holds it (default: ROOST_AGENT if set).")
@common
def lock_renew(url: str | None, project: str | None, as_json: bool, name: str, token: int, ttl: float,
               owner: str | None) -> None:
    """Extend the lease on NAME; prints the token. Exit 4 if the lease was lost."""
    with store(url, project) as s:
        lease = s.locks.renew(name, token, ttl=ttl, owner=claimed_owner(owner))
    _lease_out(as_json, lease)


@lock.command("release")
@click.argument("name")
@click.option("--token", type=int, required=True, help="The token acquire printed.")
@click.option("--owner", help="Check that this owner holds it (default: ROOST_AGENT if set).")
@common
def lock_release(url: str | None, project: str | None, as_json: bool, name: str, token: int,
                 owner: str | None) -> None:
    """Release the lease on NAME. Exit 4 if it was not held with that token."""
    with store(url, project) as s:
        s.locks.release(name, token, owner=claimed_owner(owner))
    if as_json:
        print_json({"name": name, "token": token, "released": True})
    else:
        click.echo(f"released {name}")


@lock.command("release-all")
@click.option("--owner", help=OWNER_HELP)
@common
def lock_release_all(url: str | None, project: str | None, as_json: bool, owner: str | None) -> None:
    """Release every lease an owner holds; prints how many."""
    who = cli_owner(owner)
    with store(url, project) as s:
        count = s.locks.release_all(who)
    if as_json:
        print_json({"owner": who, "released": count})
    else:
        click.echo(count)


@lock.command("force-release")
@click.argument("name")
@click.option("--privileged", is_flag=True, help="Required: this evicts the holders.")
@click.option("--reason", default="", help="Recorded in the audit log.")
@click.option("--owner", help="Who does it (recorded); default ROOST_AGENT, else host:PID.")
@common
def lock_force_release(url: str | None, project: str | None, as_json: bool, name: str, privileged: bool,
                       reason: str, owner: str | None) -> None:
    """End every holding of NAME now; the evicted tokens are refused from then on."""
    with store(url, project) as s:
        evicted = s.locks.force_release(name, privileged=privileged, actor=cli_owner(owner), reason=reason)
    data = [{"owner": o, "token": t, "mode": m} for o, t, m in evicted]
    emit(as_json, {"name": name, "evicted": data}, lambda c: c.print(
        escape(f"released {name}; evicted " + (", ".join(f"{o} (token {t})" for o, t, _ in evicted) or "nobody"))))


@lock.command("cleanup")
@click.option("--idle", type=float, default=86400.0, show_default=True,
              help="Seconds a free lock must have been untouched (at least 3600).")
@common
def lock_cleanup(url: str | None, project: str | None, as_json: bool, idle: float) -> None:
    """Remove ended holder rows, and free locks untouched for --idle seconds (tokens keep growing)."""
    with store(url, project) as s:
        holders, locks = s.locks.cleanup(idle)
    emit(as_json, {"holders": holders, "locks": locks},
         lambda c: c.print(f"removed {holders} ended holder(s) and {locks} idle lock(s)"))


@lock.command("list")
@click.argument("prefix", default="")
@click.option("--owner", help="Only this owner's leases.")
@common
def lock_list(url: str | None, project: str | None, as_json: bool, prefix: str, owner: str | None) -> None:
    """List live leases (holder, mode, age, expiry) of locks whose name starts with PREFIX."""
    with store(url, project) as s:
        held = s.locks.list(prefix, owner=owner)

    def human(console: Console) -> None:
        table = new_table("lock", "owner", "mode", "token", "age", "expires in", box=None)
        for h in held:
            table.add_row(escape(h.name), escape(h.owner), h.mode, str(h.token), ago(h.age), ago(h.remaining))
        console.print(table if held else "no locks held")

    emit(as_json, {"locks": held}, human)
