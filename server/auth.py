"""Bearer API keys: `Authorization: Bearer <key>` checked in constant time.

Keys come from DFG_API_KEYS and from the store (`deepfake-guard keys create`). With no key
configured anywhere the API serves loopback clients only: a developer on their own machine needs
no key, and a server reachable from a network never runs open (`serve` also refuses to bind a
non-loopback address without keys).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, request

from server.errors import Problem


def key_id(key: str) -> str:
    """A short, non-reversible name for a key, safe to store with a check and to log."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def is_loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Missing or invalid API key", detail,
                   headers={"WWW-Authenticate": 'Bearer realm="deepfake-guard"'})


def _refuse_if_revoked(stored, supplied: str) -> None:
    """A revoked key gets its own answer, so its user knows to ask for a new one."""
    revoked = stored.revoked_id(supplied)
    if revoked is not None:
        raise Problem(401, "key-revoked", "API key revoked",
                      f"This API key (id {revoked}) was revoked by the server's operator. Ask your organisation "
                      "for a new enrolment code and enter it in the extension's options.",
                      headers={"WWW-Authenticate": 'Bearer realm="deepfake-guard", error="invalid_token"'})


def authenticate() -> str:
    """Return the caller's key id or raise a 401 problem."""
    keys: list[str] = current_app.config["SETTINGS"].api_keys
    stored = current_app.extensions["keys"]
    header = request.headers.get("Authorization", "")
    scheme, _, supplied = header.partition(" ")
    if not keys and not stored.any_active():
        if is_loopback(request.remote_addr):
            return "loopback"
        if supplied.strip():
            _refuse_if_revoked(stored, supplied.strip())
        raise _unauthorized("This server has no API keys configured (DFG_API_KEYS) and only "
                            "answers clients on the same machine. Ask its operator for a key.")
    if scheme.lower() != "bearer" or not supplied.strip():
        raise _unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
    supplied_bytes = supplied.strip().encode()
    # Compare against every key so the time taken does not reveal which one nearly matched.
    matched = None
    for key in keys:
        if hmac.compare_digest(supplied_bytes, key.encode()):
            matched = key
    if matched is not None:
        return key_id(matched)
    stored_id = stored.identify(supplied.strip())
    if stored_id is None:
        _refuse_if_revoked(stored, supplied.strip())
        raise _unauthorized("The API key is not valid. Check the key in the extension's options.")
    return f"key:{stored_id}"


def caller() -> str | None:
    """The caller's key id, or None for a missing or invalid key; checked once per request.

    The rate limiter asks before the view does (server/limits.py): a valid key is counted per key,
    anything else per address.
    """
    if "caller" not in g:
        try:
            g.caller = authenticate()
        except Problem as problem:
            g.caller, g.auth_problem = None, problem
    return g.caller


def require_key(view: Callable) -> Callable:
    """Decorator for API views: authenticates and stores the caller's key id in `g.client`."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if caller() is None:
            raise g.auth_problem
        g.client = g.caller
        return view(*args, **kwargs)
    return wrapper
