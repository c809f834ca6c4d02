"""`deepfake-guard extension pack`: the Chrome extension as a zip to distribute or upload."""
from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import click

SOURCE_DIR = Path(__file__).resolve().parent.parent / "extension"
# What Chrome loads. Lint tooling (package.json, node_modules), the README and the icon
# generator stay out of the zip.
PACKED = ("manifest.json", "background", "content", "lib", "popup", "options", "icons")
PACKED_SUFFIXES = {".json", ".js", ".html", ".css", ".png"}
# A fixed timestamp makes the zip depend on the files only: the same source packs to the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def extension_id(public_key_b64: str) -> str:
    """The ID Chrome gives an extension with this manifest `key`: the first 128 bits of the
    SHA-256 of the DER public key, written with the letters a–p for the hex digits 0–f."""
    digest = hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(digit, 16)) for digit in digest)


def _manifest_files(manifest: dict) -> set[str]:
    """Files the manifest names: they must exist, or Chrome refuses the extension."""
    named = {manifest["background"]["service_worker"], manifest["action"]["default_popup"], manifest["options_ui"]["page"]}
    named |= set(manifest.get("icons", {}).values()) | set(manifest["action"].get("default_icon", {}).values())
    return named


def _files_to_pack(source: Path) -> list[Path]:
    files = []
    for name in PACKED:
        path = source / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        files += [file for file in candidates if file.is_file() and file.suffix in PACKED_SUFFIXES]
    return sorted(files)


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
    manifest_path = source / "manifest.json"
    if not manifest_path.is_file():
        raise click.UsageError(f"{manifest_path} not found: run this from a source checkout, or pass --source.")
    manifest = json.loads(manifest_path.read_text())
    missing = sorted(name for name in _manifest_files(manifest) if not (source / name).is_file())
    if missing:
        raise click.ClickException(f"manifest.json names files that do not exist: {', '.join(missing)}")
    ext_id = None if for_store else extension_id(manifest["key"])
    if for_store:
        manifest.pop("key", None)
    out = out or Path("dist") / f"deepfake-guard-extension-{manifest['version']}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    files = _files_to_pack(source)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            name = file.relative_to(source).as_posix()
            data = file.read_bytes()
            if name == "manifest.json" and for_store:
                data = json.dumps(manifest, indent=2).encode() + b"\n"
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    identity = f"extension ID {ext_id} (DFG_EXTENSION_ORIGINS=chrome-extension://{ext_id})" if ext_id \
        else "no key: the store assigns the extension ID"
    click.echo(f"wrote {out}: {len(files)} files, {out.stat().st_size / 1024:.0f} KiB, version {manifest['version']}; {identity}")
