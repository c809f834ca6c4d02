"""`deepfake-guard extension pack | policy`: the Chrome extension as a zip, and an admin policy for it."""
from __future__ import annotations

from pathlib import Path

import click

from server.extension_rollout import (
    EXTENSION_ID,
    POLICY_FORMATS,
    SOURCE_DIR,
    managed_schema,
    policy_values,
    render_policy,
    write_zip,
)


@click.group()
def extension() -> None:
    """The Chrome extension (extension/ in a source checkout)."""


@extension.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Zip to write.  [default: dist/deepfake-guard-extension-<version>.zip]")
@click.option("--for-store", is_flag=True,
              help="Leave out the manifest's `key`: the Chrome Web Store assigns its own ID.")
@click.option("--source", type=click.Path(file_okay=False, path_type=Path), default=SOURCE_DIR, show_default=True,
              help="The extension's folder.")
def pack(out: Path | None, for_store: bool, source: Path) -> None:
    """Build a zip of the extension for distribution."""
    import json

    manifest_path = source / "manifest.json"
    version = json.loads(manifest_path.read_text())["version"] if manifest_path.is_file() else None
    out = out or Path("dist") / f"deepfake-guard-extension-{version}.zip"
    try:
        manifest, files, ext_id = write_zip(source, out, for_store)
    except FileNotFoundError as error:
        if not manifest_path.is_file():
            raise click.UsageError(f"{error}: run this from a source checkout, or pass --source.") from None
        raise click.ClickException(str(error)) from None
    identity = f"extension ID {ext_id} (DFG_EXTENSION_ORIGINS=chrome-extension://{ext_id})" if ext_id \
        else "no key: the store assigns the extension ID"
    click.echo(f"wrote {out}: {len(files)} files, {out.stat().st_size / 1024:.0f} KiB, version {manifest['version']}; {identity}")


@extension.command()
@click.option("--format", "fmt", type=click.Choice(POLICY_FORMATS), default="linux", show_default=True,
              help="linux: JSON for /etc/opt/chrome/policies/managed/ (Chrome) or /etc/chromium/policies/managed/ "
                   "(Debian's Chromium); windows: a .reg file; macos: a .mobileconfig profile.")
@click.option("--server-url", required=True, help="The organisation's server (serverUrl).")
@click.option("--api-key", default=None, help="A shared key for everyone (apiKey); leave out for per-person enrolment.")
@click.option("--scan-site", "scan_sites", multiple=True, metavar="ORIGIN",
              help="A site whose pages are scanned on load (scanAllowList), e.g. https://news.example.org; repeat for more.")
@click.option("--scan-in-flight", type=click.IntRange(1, 6), default=None,
              help="Checks at a time during a page scan (scanInFlight; the extension's default is 2).")
@click.option("--video-frames", type=click.IntRange(1, 8), default=None,
              help="Frames per \"Check this video frame\" (videoFrames; the extension's default is 1).")
@click.option("--allow-user-changes", is_flag=True, help="Let users change the settings (allowUserChanges).")
@click.option("--update-url", default=None,
              help="Where Chrome fetches the packed extension's update manifest (or the Web Store's, "
                   "https://clients2.google.com/service/update2/crx); adds ExtensionInstallForcelist.")
@click.option("--extension-id", default=EXTENSION_ID, show_default=True,
              help="The ID your packed or store copy has, if not this checkout's fixed one.")
def policy(fmt: str, server_url: str, api_key: str | None, scan_sites: tuple[str, ...], scan_in_flight: int | None,
           video_frames: int | None, allow_user_changes: bool, update_url: str | None, extension_id: str) -> None:
    """Print an admin policy that installs and configures the extension, made from its managed schema."""
    if len(extension_id) != 32 or not set(extension_id) <= set("abcdefghijklmnop"):
        raise click.UsageError(f"'{extension_id}' is not a Chrome extension ID (32 letters a–p)")
    try:
        values = policy_values(managed_schema(), {"serverUrl": server_url.rstrip("/"), "apiKey": api_key,
                                                  "scanAllowList": [site.rstrip("/") for site in scan_sites] or None,
                                                  "scanInFlight": scan_in_flight, "videoFrames": video_frames,
                                                  "allowUserChanges": allow_user_changes})
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    click.echo(render_policy(fmt, extension_id, values, update_url), nl=False)
