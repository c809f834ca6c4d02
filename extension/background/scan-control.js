// Starting, stopping and asking about a page scan (docs/page-scan.md), from the popup, the context
// menu, the page's own Stop, or a page load on a site in the allow-list. The scan's scripts are
// injected only when a scan starts, into the tab's top frame; private windows and pages that are not
// http(s) web pages are never scanned.
import { readScanSettings } from "../lib/settings.js";
import { OVERLAY_SCRIPTS, setBadge } from "./overlay-channel.js";
import { scanImage, stopQueued } from "./page-scan.js";

const SCAN_SCRIPTS = [...OVERLAY_SCRIPTS, "content/scan-badges.js", "content/page-scan.js"];
// https pages where Chrome lets no extension run scripts.
const STORE_PAGES = [/^https:\/\/chromewebstore\.google\.com\//, /^https:\/\/chrome\.google\.com\/webstore/];

/**
 * Pure: why this tab must not be scanned, in words for the popup, or null when it may be.
 * @param {{incognito?: boolean, url?: string}} tab
 */
export function scanRefusal(tab) {
  if (tab.incognito) {
    return "Deepfake Guard never scans pages in private (incognito) windows.";
  }
  if (!/^https?:\/\//i.test(tab.url ?? "") || STORE_PAGES.some((pattern) => pattern.test(tab.url))) {
    return "Only web pages (http:// or https://) can be scanned: not browser pages, the Web Store "
      + "or other extensions' pages.";
  }
  return null;
}

/**
 * Start a scan in the tab (or keep the one that is on).
 * @param {chrome.tabs.Tab} tab
 * @returns {Promise<{ok: boolean, message?: string}>}
 */
export async function startScan(tab) {
  const refusal = scanRefusal(tab);
  if (refusal) {
    return { ok: false, message: refusal };
  }
  try {
    await chrome.scripting.executeScript({ target: { tabId: tab.id, frameIds: [0] }, files: SCAN_SCRIPTS });
  } catch {
    return { ok: false, message: "This page does not let extensions run scripts, so it can't be scanned." };
  }
  const started = await chrome.tabs.sendMessage(tab.id, { type: "scan-start", scanId: crypto.randomUUID() }, { frameId: 0 })
    .catch(() => null);
  return started?.started ? { ok: true } : { ok: false, message: "The scan could not start on this page. Reload it and try again." };
}

/** Stop the tab's scan: nothing more is sent. */
export async function stopScan(tabId) {
  stopQueued(tabId);
  await chrome.tabs.sendMessage(tabId, { type: "scan-stop" }, { frameId: 0 }).catch(() => null);
}

/** @returns {Promise<object|null>} the scan's figures from the page, null when none was started */
export function scanStatus(tabId) {
  return chrome.tabs.sendMessage(tabId, { type: "scan-status" }, { frameId: 0 }).catch(() => null);
}

/** The context-menu item: where no popup is open, a refusal goes to the toolbar badge. */
export async function startScanFromMenu(tab) {
  if (!tab || tab.id === undefined || tab.id < 0) {
    return;
  }
  const started = await startScan(tab);
  if (!started.ok) {
    await setBadge(tab.id, { text: "!", color: "#37474f", title: `Deepfake Guard: ${started.message}` });
  }
}

/** chrome.tabs.onUpdated: a page that finished loading on a site in the allow-list is scanned. */
export async function scanIfAllowed(tabId, changeInfo, tab) {
  if (changeInfo.status !== "complete" || scanRefusal(tab)) {
    return;
  }
  const { allowList } = await readScanSettings();
  if (allowList.includes(new URL(tab.url).origin)) {
    await startScan(tab);
  }
}

async function tabById(tabId) {
  return chrome.tabs.get(tabId).catch(() => null);
}

/** chrome.runtime.onMessage listener for scans: returns true when it will answer asynchronously. */
export function handleScanMessage(message, sender, sendResponse) {
  if (sender.id !== chrome.runtime.id) {
    return false;
  }
  switch (message?.type) {
    case "scan-image": // from the page's scan script
      if (!sender.tab || typeof message.srcUrl !== "string") return false;
      scanImage(message, sender).then(sendResponse);
      return true;
    case "scan-stopped": // the page's own Stop
      if (sender.tab) stopQueued(sender.tab.id);
      return false;
    case "scan-start": // from the popup, for its tab
      tabById(message.tabId).then((tab) => (tab ? startScan(tab) : { ok: false, message: "That tab is gone." }))
        .then(sendResponse);
      return true;
    case "scan-stop":
      stopScan(message.tabId).then(() => sendResponse({ ok: true }));
      return true;
    case "scan-status":
      tabById(message.tabId).then(async (tab) => sendResponse({
        refusal: tab ? scanRefusal(tab) : "That tab is gone.", status: tab ? await scanStatus(tab.id) : null,
      }));
      return true;
    default:
      return false;
  }
}
