"""What an organisation rolls out of the Chrome extension: its ID, its zip, and admin policies made from its
managed schema (`deepfake-guard extension pack | policy` print them)."""
from __future__ import annotations

import base64
import hashlib
import json
import plistlib
import uuid
import zipfile
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent / "extension"
# What Chrome loads. Lint tooling (package.json, node_modules), the README and the icon
# generator stay out of the zip.
PACKED = ("manifest.json", "managed_schema.json", "background", "content", "lib", "popup", "options", "icons")
PACKED_SUFFIXES = {".json", ".js", ".html", ".css", ".png"}
# A fixed timestamp makes the zip depend on the files only: the same source packs to the same bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def extension_id(public_key_b64: str) -> str:
    """The ID Chrome gives an extension with this manifest `key`: the first 128 bits of the
    SHA-256 of the DER public key, written with the letters a–p for the hex digits 0–f."""
    digest = hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()[:32]
    return "".join(chr(ord("a") + int(digit, 16)) for digit in digest)


def manifest_files(manifest: dict) -> set[str]:
    """Files the manifest names: they must exist, or Chrome refuses the extension."""
    named = {manifest["background"]["service_worker"], manifest["action"]["default_popup"], manifest["options_ui"]["page"]}
    named |= set(manifest.get("icons", {}).values()) | set(manifest["action"].get("default_icon", {}).values())
    named |= {manifest["storage"]["managed_schema"]} if "storage" in manifest else set()
    return named


def files_to_pack(source: Path) -> list[Path]:
    files = []
    for name in PACKED:
        path = source / name
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        files += [file for file in candidates if file.is_file() and file.suffix in PACKED_SUFFIXES]
    return sorted(files)


EXTENSION_ID = extension_id(json.loads((SOURCE_DIR / "manifest.json").read_text())["key"]) \
    if (SOURCE_DIR / "manifest.json").is_file() else "bpcgbinlbfkjbaoaocmeppkgpmbpaadj"


def write_zip(source: Path, out: Path, for_store: bool) -> tuple[dict, list[Path], str | None]:
    """Zip the extension in `source` to `out`, the same bytes for the same files; for the Web Store without the
    manifest's `key`. Returns the manifest, the files packed and the extension ID (None for the store).

    Raises:
        FileNotFoundError: no manifest.json in `source`, or a file it names is missing.
    """
    manifest_path = source / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path} not found")
    manifest = json.loads(manifest_path.read_text())
    missing = sorted(name for name in manifest_files(manifest) if not (source / name).is_file())
    if missing:
        raise FileNotFoundError(f"manifest.json names files that do not exist: {', '.join(missing)}")
    ext_id = None if for_store else extension_id(manifest["key"])
    if for_store:
        manifest.pop("key", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = files_to_pack(source)
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
    return manifest, files, ext_id


POLICY_FORMATS = ("linux", "windows", "macos")


def managed_schema(source: Path = SOURCE_DIR) -> dict:
    """The extension's managed-storage schema (manifest `storage.managed_schema`): what a policy may set."""
    manifest = json.loads((source / "manifest.json").read_text())
    return json.loads((source / manifest["storage"]["managed_schema"]).read_text())


def _matches(spec: dict, value) -> bool:
    """True when `value` has the schema type `spec` (Chrome's subset: string, boolean, integer, array)."""
    kind = spec["type"]
    if kind == "array":
        return isinstance(value, list) and all(_matches(spec["items"], item) for item in value)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)
                and spec.get("minimum", value) <= value <= spec.get("maximum", value))
    return isinstance(value, {"string": str, "boolean": bool}[kind])


def _described(spec: dict) -> str:
    if spec["type"] == "array":
        return f"a list of {spec['items']['type']}s"
    if spec["type"] == "integer" and "minimum" in spec:
        return f"an integer from {spec['minimum']} to {spec['maximum']}"
    return f"a {spec['type']}"


def policy_values(schema: dict, values: dict) -> dict:
    """The values the schema knows, typed as it says; unknown names are refused (nothing can drift).

    Raises:
        ValueError: a name the schema does not know, or a value of another type.
    """
    properties = schema["properties"]
    unknown = sorted(set(values) - set(properties))
    if unknown:
        raise ValueError(f"not in the extension's managed schema: {', '.join(unknown)}")
    typed = {}
    for name, value in values.items():
        if value is None:
            continue
        spec = properties[name]
        if not _matches(spec, value):
            raise ValueError(f"{name} must be {_described(spec)}")
        typed[name] = value
    return typed


def _reg_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_policy(fmt: str, ext_id: str, values: dict, update_url: str | None) -> str:
    """The admin's policy file for one platform: the extension's settings (3rdparty) and, with an
    update URL, its forced installation (ExtensionInstallForcelist)."""
    forced = [f"{ext_id};{update_url}"] if update_url else []
    if fmt == "linux":
        policy: dict = {"ExtensionInstallForcelist": forced} if forced else {}
        policy["3rdparty"] = {"extensions": {ext_id: values}}
        return json.dumps(policy, indent=2) + "\n"
    if fmt == "windows":
        root = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Google\Chrome"
        lines = ["Windows Registry Editor Version 5.00", ""]
        if forced:
            lines += [f"[{root}\\ExtensionInstallForcelist]", f'"1"="{forced[0]}"', ""]
        key = f"{root}\\3rdparty\\extensions\\{ext_id}\\policy"
        lines.append(f"[{key}]")
        lists = {name: value for name, value in values.items() if isinstance(value, list)}
        for name, value in values.items():
            if name not in lists:
                lines.append(f'"{name}"=dword:{int(value):08x}' if isinstance(value, (bool, int))
                             else f'"{name}"={_reg_string(value)}')
        for name, items in lists.items():  # a list is a subkey of numbered values, "1", "2", …
            lines += ["", f"[{key}\\{name}]"] + [f'"{index}"={_reg_string(item)}' for index, item in enumerate(items, 1)]
        return "\r\n".join(lines) + "\r\n"
    payloads = [{"PayloadType": ext_id, "PayloadIdentifier": f"org.deepfakeguard.extension.{ext_id}",
                 "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"dfg-extension-{ext_id}")).upper(),
                 "PayloadVersion": 1, "PayloadDisplayName": "Deepfake Guard extension settings", **values}]
    if forced:
        payloads.append({"PayloadType": "com.google.Chrome", "PayloadIdentifier": "org.deepfakeguard.chrome",
                         "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "dfg-chrome-forcelist")).upper(),
                         "PayloadVersion": 1, "ExtensionInstallForcelist": forced})
    profile = {"PayloadType": "Configuration", "PayloadVersion": 1, "PayloadDisplayName": "Deepfake Guard",
               "PayloadIdentifier": "org.deepfakeguard.profile", "PayloadScope": "System",
               "PayloadUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "dfg-profile")).upper(), "PayloadContent": payloads}
    return plistlib.dumps(profile).decode()
