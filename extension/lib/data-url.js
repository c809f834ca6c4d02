// data: URLs to bytes and back, without fetch(): the worker decodes data: images itself, and
// the page sends the bytes it reads as a data: URL (extension messages carry JSON, not Blobs).

const DATA_URL = /^data:([^,]*?)(;base64)?,(.*)$/s;

/**
 * Decode a data: URL.
 * @param {string} url
 * @returns {Blob} the bytes, typed with the URL's media type
 * @throws {Error} if `url` is not a well-formed data: URL
 */
export function decodeDataUrl(url) {
  const match = DATA_URL.exec(url);
  if (!match) {
    throw new Error("not a data: URL");
  }
  const [, mediaType, base64, payload] = match;
  const type = mediaType.split(";")[0].trim().toLowerCase() || "text/plain";
  const bytes = base64 ? decodeBase64(payload) : decodePercent(payload);
  return new Blob([bytes], { type });
}

function decodeBase64(text) {
  const binary = atob(decodeURIComponent(text).replace(/\s+/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) {
    bytes[i] = binary.charCodeAt(i);
  }
  return bytes;
}

// Percent-decoding to bytes, not to text: "%FF" is the byte 255, which decodeURIComponent rejects.
function decodePercent(text) {
  const out = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] === "%" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(...encoder.encode(text[i]));
    }
  }
  return Uint8Array.from(out);
}

/**
 * Encode bytes as a base64 data: URL.
 * @param {Blob} blob
 * @returns {Promise<string>}
 */
export async function blobToDataUrl(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const chunks = [];
  // String.fromCharCode takes its bytes as arguments: go in slices to stay under the argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    chunks.push(String.fromCharCode(...bytes.subarray(i, i + 0x8000)));
  }
  return `data:${blob.type || "application/octet-stream"};base64,${btoa(chunks.join(""))}`;
}
