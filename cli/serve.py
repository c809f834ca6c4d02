"""`deepfake-guard serve`: the API under gunicorn, after the model it will serve has loaded and passed its checks."""
from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path

import click

from core.settings import Settings
from server.auth import is_loopback

GUNICORN_CONFIG = Path(find_spec("server.gunicorn_conf").origin)   # found, not imported: importing it configures


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--dev", is_flag=True, help="Flask's development server (one process, auto-reload) instead of gunicorn.")
@click.option("--no-front", is_flag=True,
              help="gunicorn alone on HOST:PORT, without the buffering front: only behind a reverse proxy that "
                   "buffers whole requests itself (nginx's proxy_request_buffering on), with DFG_PROXY_HOPS set.")
def serve(host: str, port: int, dev: bool, no_front: bool) -> None:
    """Serve the API: a buffering front on HOST:PORT, gunicorn behind it (settings from DFG_* variables)."""
    settings = Settings()
    if no_front and (dev or not settings.proxy_hops):
        raise click.UsageError("--no-front is for a server behind a reverse proxy that buffers requests (docs/"
                               "operations.md): set DFG_PROXY_HOPS to the number of proxies in front (1 for one "
                               "nginx), so the per-address limits count clients, not the proxy; and leave out --dev.")
    has_keys = bool(settings.api_keys) or _stored_keys(settings)
    if not has_keys and not _is_loopback_host(host):
        raise click.UsageError(f"refusing to listen on {host} without API keys: set DFG_API_KEYS "
                               "(comma-separated) or create one with `deepfake-guard keys create`, "
                               "or listen on 127.0.0.1.")
    if not has_keys:
        click.echo("No API keys configured (DFG_API_KEYS, `deepfake-guard keys`): serving clients on this "
                   "machine only.", err=True)
    click.echo(f"model: {_check_model(settings)}", err=True)
    if dev:
        from server import create_app
        create_app().run(host=host, port=port, debug=False)
        return
    if no_front:   # the proxy reads each request whole before a worker thread sees it
        os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG),
                                  "--bind", f"{host}:{port}", "server:create_app()"])
    # A fresh process for the front: the model loaded by the check above stays out of it.
    os.execv(sys.executable, [sys.executable, "-m", "server.supervisor", "--host", host, "--port", str(port),
                              "--gunicorn-config", str(GUNICORN_CONFIG)])


def _check_model(settings: Settings) -> str:
    """Load and self-test the model the workers would serve, as they will, before starting them.

    A missing or corrupt model then stops `serve` with one clear message instead of workers that
    fail to boot one after another. (exec replaces this process, so the loaded model is not kept.)
    """
    from core.registry import RegistryError
    from core.served_model import ModelError
    from server.serving import build_holder

    try:
        holder = build_holder(settings)
    except (ModelError, RegistryError, OSError) as error:
        where = "DFG_MODEL_DIR" if settings.model_dir else "the shipped model (models/default)"
        raise click.ClickException(f"cannot start: the model to serve ({where}) cannot be loaded: {error}. "
                                   "Point DFG_MODEL_DIR at a model folder with model.onnx and metadata.json, "
                                   "or reinstall the package.") from None
    if holder.refused:   # workers would fall back to an older model; an operator starting the server decides
        why = "; ".join(f"{version}: {reason}" for version, reason in holder.refused.items())
        raise click.ClickException(f"cannot start: the registry's champion cannot be served ({why}). Restore its "
                                   "files, promote a good version (`deepfake-guard models promote VERSION`) or go "
                                   "back to the previous one (`deepfake-guard models rollback`).")
    model = holder.current().model
    return f"{model.version} ({holder.source})"


def _stored_keys(settings: Settings) -> bool:
    from core.store import Store
    from server.keys import StoredKeys

    return StoredKeys(Store.for_settings(settings)).any_active()


def _is_loopback_host(host: str) -> bool:
    return host == "localhost" or is_loopback(host.strip("[]"))

