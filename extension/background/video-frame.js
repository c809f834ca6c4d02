// A video frame's picture in the worker: cut out of a capture of the visible tab (a cross-origin
// video, whose canvas is tainted), and the test that keeps a black frame (a DRM-protected video, or
// one with no picture yet) from being checked.
import { decodeDataUrl, blobToDataUrl } from "../lib/data-url.js";

// Chrome allows two tab captures a second per extension: a paused video stepped frame by frame asks faster.
const CAPTURE_INTERVAL_MS = 520;
const BLANK_SIDE = 32;       // the frame is judged at this size
const BLANK_MAX_LEVEL = 16;  // of 255: no pixel brighter than this is black

let lastCapture = 0;

/**
 * The tab as shown, cut to `region` (viewport CSS pixels, scaled by the capture's own pixels per CSS pixel).
 * Refused unless the tab that asked is the one in front of its window: a capture of another tab (the user
 * switched meanwhile) must never be sent.
 * @param {{id: number, windowId: number}} tab the tab that asked
 * @param {{left: number, top: number, width: number, height: number}} region
 * @param {{width: number, height: number}} viewport the page's innerWidth and innerHeight
 * @returns {Promise<{dataUrl: string}|{reason: string}>}
 */
export async function captureRegion(tab, region, viewport) {
  const numbers = [region.left, region.top, region.width, region.height, viewport.width, viewport.height];
  if (!numbers.every(Number.isFinite) || region.width <= 0 || region.height <= 0 || viewport.width <= 0) {
    return { reason: "the video has no size on screen" };
  }
  const wait = lastCapture + CAPTURE_INTERVAL_MS - Date.now();
  if (wait > 0) await new Promise((resolve) => { setTimeout(resolve, wait); });
  lastCapture = Date.now();
  const [front] = await chrome.tabs.query({ active: true, windowId: tab.windowId });
  if (front?.id !== tab.id) {
    return { reason: "its tab is no longer the one in front; bring it back and try again" };
  }
  let shot;
  try {
    shot = await chrome.tabs.captureVisibleTab(tab.windowId, { format: "png" });
  } catch (error) {
    return { reason: `the browser refused to capture the tab: ${error?.message ?? error}` };
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(decodeDataUrl(shot));
    const scale = bitmap.width / viewport.width;
    const width = Math.max(1, Math.round(region.width * scale));
    const height = Math.max(1, Math.round(region.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext("2d").drawImage(bitmap, Math.round(region.left * scale), Math.round(region.top * scale),
      width, height, 0, 0, width, height);
    return { dataUrl: await blobToDataUrl(await canvas.convertToBlob({ type: "image/png" })) };
  } catch (error) {
    return { reason: `the capture could not be cut to the video: ${error?.message ?? error}` };
  } finally {
    bitmap?.close();
  }
}

/** True when no pixel of the frame (judged at 32×32) is brighter than 16 of 255: nothing to check. */
export async function isBlackFrame(image) {
  const bitmap = await createImageBitmap(image);
  try {
    const canvas = new OffscreenCanvas(BLANK_SIDE, BLANK_SIDE);
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0, BLANK_SIDE, BLANK_SIDE);
    const { data } = context.getImageData(0, 0, BLANK_SIDE, BLANK_SIDE);
    for (let i = 0; i < data.length; i += 4) {
      if (Math.max(data[i], data[i + 1], data[i + 2]) > BLANK_MAX_LEVEL) return false;
    }
    return true;
  } finally {
    bitmap.close();
  }
}
