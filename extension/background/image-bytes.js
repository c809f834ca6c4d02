// The image's bytes, the way that works on real sites. The worker downloads the image itself:
// its host permissions put it outside the page's CORS rules, and it sends no Referer or Origin,
// so hotlink protection that refuses foreign sites lets it through. data: URLs are decoded here.
// blob: URLs exist only inside the page, and some images are served only with the page's own
// Referer or cookies: for those the page's content script reads the bytes.
import { ImageError } from "../lib/error-messages.js";
import { decodeDataUrl } from "../lib/data-url.js";

/** Extension messages are capped at 64 MiB of JSON; base64 adds a third. */
export const MAX_IMAGE_BYTES = 40 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 30_000;

function checkedSize(blob) {
  if (blob.size > MAX_IMAGE_BYTES) {
    throw new ImageError("image-too-large", { bytes: blob.size, limit: MAX_IMAGE_BYTES });
  }
  return blob;
}

function hostOf(url) {
  try {
    return new URL(url).host || null;
  } catch {
    return null;
  }
}

async function download(srcUrl) {
  const response = await fetch(srcUrl, {
    credentials: "include", // the image host's own cookies, as when the page loaded it
    referrerPolicy: "no-referrer",
    signal: AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
  });
  if (!response.ok) {
    return { reason: `the site answered HTTP ${response.status}` };
  }
  const declared = Number(response.headers.get("Content-Length"));
  if (declared > MAX_IMAGE_BYTES) {
    throw new ImageError("image-too-large", { bytes: declared, limit: MAX_IMAGE_BYTES });
  }
  // A login or error page served with 200 instead of the picture: the page may do better.
  if ((response.headers.get("Content-Type") ?? "").startsWith("text/html")) {
    return { reason: "the site sent a web page instead of the image" };
  }
  return { blob: await response.blob() };
}

/**
 * @param {string} srcUrl the image's URL as the context menu reported it
 * @param {() => Promise<{dataUrl?: string, error?: string}|null>} readFromPage asks the content script
 * @returns {Promise<Blob>} the image bytes
 * @throws {ImageError} when neither the worker nor the page can read them
 */
export async function readImageBytes(srcUrl, readFromPage) {
  if (srcUrl.startsWith("data:")) {
    return checkedSize(decodeDataUrl(srcUrl));
  }
  let reason = null;
  if (/^https?:/i.test(srcUrl)) {
    try {
      const downloaded = await download(srcUrl);
      if (downloaded.blob) {
        return checkedSize(downloaded.blob);
      }
      reason = downloaded.reason;
    } catch (error) {
      if (error instanceof ImageError) {
        throw error;
      }
      reason = error?.name === "TimeoutError" ? "the download timed out" : "the download failed";
    }
  }
  const fromPage = await readFromPage();
  if (fromPage?.dataUrl) {
    return checkedSize(decodeDataUrl(fromPage.dataUrl));
  }
  throw new ImageError("image-unavailable", {
    host: hostOf(srcUrl), reason: reason ?? fromPage?.error ?? "the page could not provide it",
  });
}
