// The context-menu items. Menus persist across worker restarts, so they are made once per
// install or update (after removing the old ones: creating an existing id is an error). The scan
// item is on the page's menu only: with two items on images, Chrome would fold them into a
// "Deepfake Guard" submenu and checking one image, the main action, would take one more step. A
// video has its own item, alone on the video's menu.

export const MENU_ITEM_ID = "check-image";
export const SCAN_MENU_ITEM_ID = "scan-page";
export const VIDEO_MENU_ITEM_ID = "check-video-frame";

export async function createContextMenu() {
  await chrome.contextMenus.removeAll();
  chrome.contextMenus.create({
    id: MENU_ITEM_ID,
    title: "Check image for deepfake",
    contexts: ["image"],
  });
  chrome.contextMenus.create({
    id: VIDEO_MENU_ITEM_ID,
    title: "Check this video frame",
    contexts: ["video"],
  });
  chrome.contextMenus.create({
    id: SCAN_MENU_ITEM_ID,
    title: "Check all images on this page",
    contexts: ["page"],
    documentUrlPatterns: ["http://*/*", "https://*/*"], // never offered where a scan is refused anyway
  });
}
