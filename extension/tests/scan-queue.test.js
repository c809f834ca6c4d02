// background/scan-queue.js: the page scan's slots for checks in flight, its dedup by bytes, and its
// waits after a 429; and scanRefusal (background/scan-control.js), which pages may be scanned.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  CheckSlots, MAX_WAIT_S, WAIT_WITHOUT_RETRY_AFTER_S, scanFor, sha256Hex, shareOnce, waitSeconds,
} from "../background/scan-queue.js";
// Nothing in scan-control.js or what it imports touches chrome.* at import time.
import { scanRefusal } from "../background/scan-control.js";

/** Which of these promises have settled, after pending callbacks ran. */
async function settled(promises) {
  const state = promises.map(() => "pending");
  promises.forEach((promise, index) => promise.then(() => { state[index] = "resolved"; },
    () => { state[index] = "rejected"; }));
  await new Promise((resolve) => setImmediate(resolve));
  return state;
}

describe("CheckSlots", () => {
  it("lets `limit` callers through at once and queues the rest", async () => {
    const slots = new CheckSlots();
    const calls = [slots.acquire(1, 2), slots.acquire(1, 2), slots.acquire(2, 2)];
    assert.deepEqual(await settled(calls), ["resolved", "resolved", "pending"]);
    assert.equal(slots.running, 2);
    assert.equal(slots.waiting.length, 1);
  });

  it("passes a released slot to the first in line, over all tabs", async () => {
    const slots = new CheckSlots();
    slots.acquire(1, 1);
    const second = slots.acquire(2, 1);
    const third = slots.acquire(1, 1);
    slots.release();
    assert.deepEqual(await settled([second, third]), ["resolved", "pending"]);
    assert.equal(slots.running, 1); // the slot changed hands
    slots.release();
    assert.deepEqual(await settled([third]), ["resolved"]);
    slots.release();
    assert.equal(slots.running, 0);
  });

  it("reads the limit on each call: a higher limit lets the next caller through", async () => {
    const slots = new CheckSlots();
    slots.acquire(1, 1);
    const lower = slots.acquire(1, 1);
    const raised = slots.acquire(1, 3);
    assert.deepEqual(await settled([lower, raised]), ["pending", "resolved"]);
    assert.equal(slots.running, 2);
  });

  it("dropping a tab rejects its callers in line and keeps the others' places", async () => {
    const slots = new CheckSlots();
    slots.acquire(1, 1);
    const stopped = [slots.acquire(7, 1), slots.acquire(7, 1)];
    const other = slots.acquire(8, 1);
    const errors = [];
    slots.dropTab(7, () => {
      const error = new Error("stopped");
      errors.push(error);
      return error;
    });
    assert.deepEqual(await settled([...stopped, other]), ["rejected", "rejected", "pending"]);
    await assert.rejects(stopped[0], (error) => errors.includes(error));
    assert.notEqual(errors[0], errors[1]); // one error each
    slots.release();
    assert.deepEqual(await settled([other]), ["resolved"]);
    assert.equal(slots.running, 1);
  });
});

describe("scanFor", () => {
  it("keeps one record per tab and scan, and starts afresh for a new scan", () => {
    const scans = new Map();
    const first = scanFor(scans, 1, "scan-a");
    assert.deepEqual({ ...first, byBytes: first.byBytes.size }, { scanId: "scan-a", stopped: false, byBytes: 0 });
    first.byBytes.set("digest", Promise.resolve());
    assert.equal(scanFor(scans, 1, "scan-a"), first);
    assert.notEqual(scanFor(scans, 2, "scan-a"), first);
    const next = scanFor(scans, 1, "scan-b");
    assert.notEqual(next, first);
    assert.equal(next.byBytes.size, 0);
    assert.equal(scans.get(1), next);
  });
});

describe("shareOnce", () => {
  it("starts the work once per key and hands later callers the same answer", async () => {
    const answers = new Map();
    let started = 0;
    const start = () => Promise.resolve(`answer ${++started}`);
    const first = shareOnce(answers, "abc", start);
    const second = shareOnce(answers, "abc", start);
    const other = shareOnce(answers, "def", start);
    assert.equal(first.shared, false);
    assert.equal(second.shared, true);
    assert.equal(second.answer, first.answer);
    assert.equal(other.shared, false);
    assert.equal(started, 2);
    assert.equal(await second.answer, "answer 1");
    assert.equal(await other.answer, "answer 2");
  });

  it("forgets a failure, so the same bytes are checked again", async () => {
    const answers = new Map();
    const failed = shareOnce(answers, "abc", () => Promise.reject(new Error("server error")));
    const twin = shareOnce(answers, "abc", () => Promise.resolve("unused"));
    await assert.rejects(failed.answer, /server error/);
    await assert.rejects(twin.answer, /server error/); // a twin asked meanwhile shares the failure
    assert.equal(answers.has("abc"), false);
    const retry = shareOnce(answers, "abc", () => Promise.resolve("checked"));
    assert.equal(retry.shared, false);
    assert.equal(await retry.answer, "checked");
  });
});

describe("sha256Hex", () => {
  it("is the hex SHA-256 of the bytes, whatever their type", async () => {
    assert.equal(await sha256Hex(new Blob(["abc"], { type: "image/png" })),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert.equal(await sha256Hex(new Blob([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});

describe("waitSeconds", () => {
  it("waits the Retry-After seconds, capped", () => {
    assert.equal(waitSeconds(5), 5);
    assert.equal(waitSeconds("0.5"), 0.5);
    assert.equal(waitSeconds(MAX_WAIT_S + 100), MAX_WAIT_S);
  });

  it("waits the default without a usable Retry-After", () => {
    for (const value of [null, undefined, 0, -3, "soon", Infinity]) {
      assert.equal(waitSeconds(value), WAIT_WITHOUT_RETRY_AFTER_S, String(value));
    }
  });
});

describe("scanRefusal", () => {
  it("allows http(s) web pages", () => {
    assert.equal(scanRefusal({ url: "https://news.example.org/world" }), null);
    assert.equal(scanRefusal({ url: "HTTP://example.org/", incognito: false }), null);
  });

  it("never scans a private window", () => {
    assert.match(scanRefusal({ url: "https://news.example.org/", incognito: true }), /private \(incognito\)/);
  });

  it("refuses browser pages, other schemes, the Web Store and a tab without a URL", () => {
    for (const url of ["chrome://settings", "file:///home/a.html", "chrome-extension://abc/page.html",
      "https://chromewebstore.google.com/detail/x", "https://chrome.google.com/webstore/detail/x", undefined]) {
      assert.match(scanRefusal({ url }), /^Only web pages \(http:\/\/ or https:\/\/\) can be scanned/, String(url));
    }
  });
});
