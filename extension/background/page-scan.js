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
import { CheckSlots, RATE_LIMIT_RETRIES, scanFor, sha256Hex, shareOnce, waitSeconds } from "./scan-queue.js";

const scans = new Map(); // tab id → { scanId, stopped, byBytes: Map<sha256, Promise<answer>> }
const slots = new CheckSlots(); // images waiting for a slot, over all tabs

class ScanStopped extends Error {}

async function acquire(tabId) {
  const { inFlight } = await readScanSettings();
  await slots.acquire(tabId, inFlight);
}

/** Nothing more is sent for this tab: images still waiting for a slot are dropped. */
export function stopQueued(tabId) {
  const scan = scans.get(tabId);
  if (scan) {
    scan.stopped = true;
  }
  slots.dropTab(tabId, () => new ScanStopped());
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
  const digest = await sha256Hex(image);
  const { shared, answer } = shareOnce(scan.byBytes, digest, () => checkHonouringRetryAfter(
    scan, image, { pageUrl, sourceUrl: srcUrl }, counts,
  ).then((check) => ({ checkId: check.id, verdict: check.verdict, scope: check.scope, display: presentCheck(check) })));
  return shared ? { same: answer } : { result: await answer };
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
  const scan = scanFor(scans, tabId, scanId);
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
      slots.release(); // before waiting on a twin's answer, which needs no slot of its own
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
