// The one context-menu item. Menus persist across worker restarts, so they are made once per
// install or update (after removing the old ones: creating an existing id is an error).

export const MENU_ITEM_ID = "check-image";

export async function createContextMenu() {
  await chrome.contextMenus.removeAll();
  chrome.contextMenus.create({
    id: MENU_ITEM_ID,
    title: "Check image for deepfake",
    contexts: ["image"],
  });
}
