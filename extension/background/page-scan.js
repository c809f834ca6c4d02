// The worker's side of a page scan: each image the page's scan script sends is read, deduplicated
// by its bytes (sha256), and checked with at most `scanInFlight` checks in flight across all tabs
// (the server limits per key, and every tab uses the same key); a 429 waits for the server's
// Retry-After and tries that image again. Scanned checks stay out of "my checks" (lib/history.js):
// thirty pictures of a page would push out the checks the user asked for one by one.
//
// The queue lives in worker globals because it is made of promises under way. A scan lasts seconds
// and every message from the page keeps the worker alive; if Chrome stops it anyway, the page gets
// no answer and sends those images again (content/page-scan.js), and identical bytes sent again
// are answered from the server's result cache.
import { createCheck } from "../lib/api.js";
import { describeError } from "../lib/error-messages.js";
import { presentCheck } from "../lib/present.js";
import { readScanSettings, readSettings } from "../lib/settings.js";
import { readImageBytes } from "./image-bytes.js";

/** How often one image is retried after a 429, and the waits (seconds) between tries. */
export const RATE_LIMIT_RETRIES = 6;
export const MAX_WAIT_S = 30;
export const WAIT_WITHOUT_RETRY_AFTER_S = 2;

const scans = new Map(); // tab id → { scanId, stopped, byBytes: Map<sha256, Promise<answer>> }
const waiting = [];      // { tabId, resolve, reject }: images waiting for a slot
let running = 0;

class ScanStopped extends Error {}

/** Pure: seconds to wait after a 429, from its Retry-After (seconds) or the default, capped. */
export function waitSeconds(retryAfter) {
  const seconds = Number(retryAfter);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, MAX_WAIT_S) : WAIT_WITHOUT_RETRY_AFTER_S;
}

function scanFor(tabId, scanId) {
  let scan = scans.get(tabId);
  if (!scan || scan.scanId !== scanId) {
    scan = { scanId, stopped: false, byBytes: new Map() };
    scans.set(tabId, scan);
  }
  return scan;
}

async function acquire(tabId) {
  const { inFlight } = await readScanSettings();
  if (running < inFlight) {
    running += 1;
    return;
  }
  await new Promise((resolve, reject) => waiting.push({ tabId, resolve, reject }));
}

function release() {
  const next = waiting.shift();
  if (next) {
    next.resolve(); // the slot passes on: `running` stays as it is
  } else {
    running -= 1;
  }
}

/** Nothing more is sent for this tab: images still waiting for a slot are dropped. */
export function stopQueued(tabId) {
  const scan = scans.get(tabId);
  if (scan) {
    scan.stopped = true;
  }
  for (let index = waiting.length - 1; index >= 0; index -= 1) {
    if (waiting[index].tabId === tabId) {
      waiting.splice(index, 1)[0].reject(new ScanStopped());
    }
  }
}

async function sha256(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** createCheck, waiting and trying again on 429; `counts.rateLimited` counts the 429s met. */
async function checkHonouringRetryAfter(scan, image, context, counts) {
  const settings = await readSettings();
  for (let attempt = 0; ; attempt += 1) {
    if (scan.stopped) {
      throw new ScanStopped();
    }
    try {
      return await createCheck(settings, image, context);
    } catch (error) {
      if (error?.kind !== "rate-limited" || attempt >= RATE_LIMIT_RETRIES) {
        throw error;
      }
      counts.rateLimited += 1;
      await sleep(waitSeconds(error.retryAfter));
    }
  }
}

async function checkOnce(scan, { tabId, frameId, srcUrl, pageUrl }, counts) {
  const readFromPage = () => chrome.tabs.sendMessage(tabId, { type: "scan-read-image", srcUrl }, { frameId })
    .catch(() => null);
  const image = await readImageBytes(srcUrl, readFromPage);
  const digest = await sha256(image);
  const earlier = scan.byBytes.get(digest);
  if (earlier) {
    return { same: earlier };
  }
  const checking = checkHonouringRetryAfter(scan, image, { pageUrl, sourceUrl: srcUrl }, counts).then((check) => ({
    checkId: check.id, verdict: check.verdict, scope: check.scope, display: presentCheck(check),
  }));
  scan.byBytes.set(digest, checking);
  checking.catch(() => scan.byBytes.delete(digest)); // a failure is not an answer for the same bytes
  return { result: await checking };
}

/**
 * Check one image of a page scan.
 * @param {{scanId: string, srcUrl: string}} message from content/page-scan.js
 * @param {chrome.runtime.MessageSender} sender the page's frame
 * @returns {Promise<{status: "done"|"error"|"stopped", result?: object, error?: object,
 *   sameBytes?: boolean, rateLimited: number}>}
 */
export async function scanImage({ scanId, srcUrl }, sender) {
  const tabId = sender.tab.id;
  const scan = scanFor(tabId, scanId);
  const counts = { rateLimited: 0 };
  if (scan.stopped) {
    return { status: "stopped", rateLimited: 0 };
  }
  let outcome;
  try {
    await acquire(tabId);
    try {
      outcome = await checkOnce(scan, { tabId, frameId: sender.frameId ?? 0, srcUrl, pageUrl: sender.tab.url }, counts);
    } finally {
      release(); // before waiting on a twin's answer, which needs no slot of its own
    }
    if (outcome.same) {
      return { status: "done", result: await outcome.same, sameBytes: true, rateLimited: 0 };
    }
    return { status: "done", result: outcome.result, sameBytes: false, rateLimited: counts.rateLimited };
  } catch (error) {
    if (error instanceof ScanStopped) {
      return { status: "stopped", rateLimited: counts.rateLimited };
    }
    return { status: "error", error: describeError(error), rateLimited: counts.rateLimited };
  }
}
