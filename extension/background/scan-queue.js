// The page scan's queue and deduplication, free of chrome.* so that tests/scan-queue.test.js runs
// them in Node: slots for the checks in flight (shared by every tab), one answer per picture within
// a scan, and the waits after a 429. background/page-scan.js holds the state and does the I/O.

/** How often one image is retried after a 429, and the waits (seconds) between tries. */
export const RATE_LIMIT_RETRIES = 6;
export const MAX_WAIT_S = 30;
export const WAIT_WITHOUT_RETRY_AFTER_S = 2;

/** Seconds to wait after a 429, from its Retry-After (seconds) or the default, capped. */
export function waitSeconds(retryAfter) {
  const seconds = Number(retryAfter);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, MAX_WAIT_S) : WAIT_WITHOUT_RETRY_AFTER_S;
}

/** Checks in flight at most `limit` at a time; beyond it callers wait in line, first come first served. */
export class CheckSlots {
  running = 0;
  waiting = []; // { tabId, resolve, reject }

  /**
   * @param {number} limit read afresh on each call: the user may change it during a scan
   * @returns {Promise<void>} settles when the caller holds a slot, or rejects if its tab is dropped first
   */
  acquire(tabId, limit) {
    if (this.running < limit) {
      this.running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waiting.push({ tabId, resolve, reject }));
  }

  release() {
    const next = this.waiting.shift();
    if (next) {
      next.resolve(); // the slot passes on: `running` stays as it is
    } else {
      this.running -= 1;
    }
  }

  /** The tab's callers still in line are rejected with `makeError()` each; the others keep their place. */
  dropTab(tabId, makeError) {
    for (let index = this.waiting.length - 1; index >= 0; index -= 1) {
      if (this.waiting[index].tabId === tabId) {
        this.waiting.splice(index, 1)[0].reject(makeError());
      }
    }
  }
}

/**
 * The tab's scan record, a fresh one (nothing deduplicated yet) when the page started another scan.
 * @param {Map<number, {scanId: string, stopped: boolean, byBytes: Map}>} scans by tab id
 */
export function scanFor(scans, tabId, scanId) {
  let scan = scans.get(tabId);
  if (!scan || scan.scanId !== scanId) {
    scan = { scanId, stopped: false, byBytes: new Map() };
    scans.set(tabId, scan);
  }
  return scan;
}

/**
 * One answer per key: the first caller starts the work, later callers with the same key share its
 * promise. A failure is forgotten, so the same key is tried again rather than failing twice.
 * @param {Map<string, Promise>} answers
 * @param {() => Promise} start
 * @returns {{shared: boolean, answer: Promise}}
 */
export function shareOnce(answers, key, start) {
  const earlier = answers.get(key);
  if (earlier) {
    return { shared: true, answer: earlier };
  }
  const answer = start();
  answers.set(key, answer);
  answer.catch(() => answers.delete(key));
  return { shared: false, answer };
}

/** The SHA-256 of a blob's bytes in hex: the key that finds one picture under several URLs. */
export async function sha256Hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
