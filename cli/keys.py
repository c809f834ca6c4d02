"""`deepfake-guard keys create | list | revoke`: API keys kept (hashed) in the store."""
from __future__ import annotations

import click

from core.settings import Settings
from core.store import Store
from server.extension_rollout import EXTENSION_ID
from server.keys import KEY_CACHE_SECONDS, create_enrollment, create_key, list_keys, revoke_key


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


@keys.command()
@click.option("--name", required=True, help="Who the key is for, e.g. 'alice'; the key gets this name.")
@click.option("--hours", type=click.FloatRange(min=0.1, max=24 * 30), default=72.0, show_default=True,
              help="How long the code can be redeemed.")
def enroll(name: str, hours: float) -> None:
    """A one-time code that the extension's options page redeems for a key of this person's own.

    Send the code (or the link) to the person: no key is pasted or sent around. Revoke their key
    later with `keys revoke <id>` (`keys list` shows it once redeemed).
    """
    row, code = create_enrollment(_store(), name, hours)
    click.echo(f"enrolment for '{name}', redeemable once until {row.expires_at:%Y-%m-%d %H:%M} UTC. "
               "Give this code to its user (or the link, opened in Chrome with the extension); it is not shown again:",
               err=True)
    click.echo(code)
    click.echo(f"chrome-extension://{EXTENSION_ID}/options/options.html#enroll={code}", err=True)


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
