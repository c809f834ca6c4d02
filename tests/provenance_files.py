"""Images that declare where they came from, made at test time: C2PA-signed PNG/WebP (with the test
certificate in tests/fixtures/c2pa), XMP with an IPTC digital source type, PNG text chunks of
generators, EXIF software names."""
from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

from PIL import Image, PngImagePlugin

from tests.images import astronaut, encode

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "c2pa"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
GENERATOR = "ExampleGen Image AI"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def face(size: int = 256) -> Image.Image:
    return Image.fromarray(astronaut()).resize((size, size))


def c2pa_signed(fmt: str = "PNG", source_type: str = "trainedAlgorithmicMedia", size: int = 256) -> bytes:
    """The astronaut as `fmt`, with a manifest signed by the test certificate whose `c2pa.created`
    action declares `source_type`."""
    import c2pa

    mime = {"PNG": "image/png", "WEBP": "image/webp", "JPEG": "image/jpeg"}[fmt]
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, (FIXTURES / "es256_certs.pem").read_bytes(),
                               (FIXTURES / "es256_private.key").read_bytes(), None)
    manifest = {"claim_generator_info": [{"name": GENERATOR, "version": "2.1"}], "title": f"generated.{fmt.lower()}",
                "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                    {"action": "c2pa.created", "digitalSourceType": IPTC + source_type}]}}]}
    output = io.BytesIO()
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(json.dumps(manifest)) as builder:
        builder.sign(signer, mime, io.BytesIO(encode(face(size), fmt)), output)
    return output.getvalue()


def xmp_packet(source_type: str | None = None, creator_tool: str | None = None,
               remote_manifest: str | None = None) -> bytes:
    fields = "".join([
        f' Iptc4xmpExt:DigitalSourceType="{IPTC + source_type}"' if source_type else "",
        f' xmp:CreatorTool="{creator_tool}"' if creator_tool else "",
        f' dcterms:provenance="{remote_manifest}"' if remote_manifest else ""])
    return (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""'
            b' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
            b' xmlns:dcterms="http://purl.org/dc/terms/"' + fields.encode() +
            b'/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def jpeg_with_xmp(packet: bytes) -> bytes:
    """A JPEG with the XMP packet in an APP1 segment right after SOI."""
    body = encode(face(), "JPEG")
    payload = b"http://ns.adobe.com/xap/1.0/\0" + packet
    return body[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + body[2:]


def png_with_text(texts: dict[str, str], compressed: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in texts.items():
        if compressed:
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value)
    return encode(face(), "PNG", pnginfo=info)


def png_with_zip_bomb(keyword: str = "parameters", megabytes: int = 64) -> bytes:
    """A PNG whose zTXt chunk inflates to `megabytes` MB (the reader must stop at its cap)."""
    body = encode(face(64), "PNG")
    data = keyword.encode() + b"\0\0" + zlib.compress(b"A" * (megabytes << 20), 9)
    chunk = struct.pack(">I", len(data)) + b"zTXt" + data + struct.pack(">I", zlib.crc32(b"zTXt" + data))
    return body[:33] + chunk + body[33:]


def jpeg_with_software(software: str) -> bytes:
    exif = Image.Exif()
    exif[0x0131] = software
    return encode(face(), "JPEG", exif=exif.tobytes())
