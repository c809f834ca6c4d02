"""`deepfake-guard keys create | list | revoke`: API keys kept (hashed) in the store."""
from __future__ import annotations

import click

from core.settings import Settings
from core.store import Store
from server.keys import KEY_CACHE_SECONDS, create_key, list_keys, revoke_key


def _store() -> Store:
    return Store.for_settings(Settings())


@click.group("keys")
def keys() -> None:
    """API keys for clients (stored hashed; DFG_API_KEYS keys keep working too)."""


@keys.command()
@click.option("--name", required=True, help="Who or what the key is for, e.g. 'alice laptop'.")
def create(name: str) -> None:
    """Create a key and print it once: it is not stored, only its SHA-256."""
    row, key = create_key(_store(), name)
    click.echo(f"created key {row.id} ({row.name}). Give this key to its user; it is not shown again:", err=True)
    click.echo(key)


@keys.command("list")
def list_command() -> None:
    """The keys in the store (ids and names, never the keys)."""
    rows = list_keys(_store())
    if not rows:
        click.echo("no stored keys")
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        click.echo(f"{row.id}  {row.created_at:%Y-%m-%d %H:%M}  {state:<24} {row.name}")


@keys.command()
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key by its id; running servers refuse it within a few seconds."""
    if not revoke_key(_store(), key_id):
        raise click.ClickException(f"no active key with id '{key_id}' (see `deepfake-guard keys list`)")
    click.echo(f"revoked {key_id}; servers refuse it within {KEY_CACHE_SECONDS:g} s")
