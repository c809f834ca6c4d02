// lib/data-url.js: data: URLs to bytes and back, without fetch().
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { blobToDataUrl, decodeDataUrl } from "../lib/data-url.js";

const bytesOf = async (blob) => [...new Uint8Array(await blob.arrayBuffer())];

describe("decodeDataUrl", () => {
  it("decodes base64 with its media type, lower-cased and without parameters", async () => {
    const blob = decodeDataUrl("data:Image/PNG;name=x.png;base64,iVBORw0K");
    assert.equal(blob.type, "image/png");
    assert.deepEqual(await bytesOf(blob), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]);
  });

  it("tolerates whitespace and percent-escapes inside base64", async () => {
    assert.deepEqual(await bytesOf(decodeDataUrl("data:image/gif;base64,R0lG%0A ODlh")), [...Buffer.from("GIF89a")]);
  });

  it("percent-decodes to bytes, not text: %FF is the byte 255", async () => {
    const blob = decodeDataUrl("data:application/octet-stream,a%FFb%2c%zz");
    assert.deepEqual(await bytesOf(blob), [0x61, 0xff, 0x62, 0x2c, 0x25, 0x7a, 0x7a]);
  });

  it("encodes characters outside ASCII as UTF-8", async () => {
    assert.deepEqual(await bytesOf(decodeDataUrl("data:,é")), [0xc3, 0xa9]);
  });

  it("defaults to text/plain", () => {
    assert.equal(decodeDataUrl("data:,hello").type, "text/plain");
    assert.equal(decodeDataUrl("data:;base64,aGk=").type, "text/plain");
  });

  it("refuses what is not a data: URL", () => {
    for (const url of ["https://example.org/a.png", "data:image/png;base64", ""]) {
      assert.throws(() => decodeDataUrl(url), /not a data: URL/, url);
    }
  });
});

describe("blobToDataUrl", () => {
  it("writes base64 with the blob's type", async () => {
    assert.equal(await blobToDataUrl(new Blob(["hi"], { type: "image/png" })), "data:image/png;base64,aGk=");
    assert.equal(await blobToDataUrl(new Blob([new Uint8Array([0xff])])), "data:application/octet-stream;base64,/w==");
  });

  it("round-trips every byte value, past the 32 KB slices it encodes in", async () => {
    const bytes = Uint8Array.from({ length: 0x8000 * 2 + 5 }, (_, index) => (index * 7) % 256);
    const url = await blobToDataUrl(new Blob([bytes], { type: "image/jpeg" }));
    const back = decodeDataUrl(url);
    assert.equal(back.type, "image/jpeg");
    assert.deepEqual(new Uint8Array(await back.arrayBuffer()), bytes);
  });
});
