// The extension's service worker: listeners only, registered synchronously at the top level so
// Chrome can wake the worker for them. It keeps no state in globals — Chrome stops the worker
// whenever it is idle; what must last lives in chrome.storage.local.
import { MENU_ITEM_ID, SCAN_MENU_ITEM_ID, VIDEO_MENU_ITEM_ID, createContextMenu } from "./context-menu.js";
import { checkImage } from "./check-image.js";
import { checkVideoFrame } from "./check-video.js";
import { handleMessage } from "./messages.js";
import { handleScanMessage, scanIfAllowed, startScanFromMenu } from "./scan-control.js";
import { readPolicy } from "../lib/settings.js";

chrome.runtime.onInstalled.addListener(createContextMenu);

// Keep the copy of the organisation's policy that checks read current (lib/settings.js): at install,
// at browser start, and whenever an admin changes the policy.
const refreshPolicy = () => readPolicy({ waitForPolicy: true });
chrome.runtime.onInstalled.addListener(refreshPolicy);
chrome.runtime.onStartup.addListener(refreshPolicy);
chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "managed") {
    refreshPolicy();
  }
});

chrome.contextMenus.onClicked.addListener((info, tab) => {
  if (info.menuItemId === MENU_ITEM_ID) {
    checkImage(info, tab);
  } else if (info.menuItemId === VIDEO_MENU_ITEM_ID) {
    checkVideoFrame(info, tab);
  } else if (info.menuItemId === SCAN_MENU_ITEM_ID) {
    startScanFromMenu(tab);
  }
});

chrome.runtime.onMessage.addListener(handleMessage);
chrome.runtime.onMessage.addListener(handleScanMessage);
// Pages of the sites in the page-scan allow-list (options) are scanned as they finish loading.
chrome.tabs.onUpdated.addListener(scanIfAllowed);
