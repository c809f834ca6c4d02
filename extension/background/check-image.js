// One check, from the menu click to the verdict on the image: overlay first (so the user sees
// progress at once), then the bytes, the server's answer, the history, the result.
import { createCheck } from "../lib/api.js";
import { describeError } from "../lib/error-messages.js";
import { addCheck, entryFromCheck } from "../lib/history.js";
import { readSettings } from "../lib/settings.js";
import { readImageBytes } from "./image-bytes.js";
import { openOverlay } from "./overlay-channel.js";
import { makeThumbnail } from "./thumbnail.js";

/**
 * Handle a click on "Check image for deepfake".
 * @param {chrome.contextMenus.OnClickData} info srcUrl, pageUrl, frameId of the clicked image
 * @param {chrome.tabs.Tab|undefined} tab
 */
export async function checkImage(info, tab) {
  if (!tab || tab.id === undefined || tab.id < 0 || !info.srcUrl) {
    return; // not in a tab (e.g. a menu in another extension's page): nowhere to show a result
  }
  const overlay = await openOverlay({ tabId: tab.id, frameId: info.frameId ?? 0 }, info.srcUrl);
  try {
    const settings = await readSettings();
    await overlay.progress("Getting the image…");
    const image = await readImageBytes(info.srcUrl, overlay.readImageFromPage);
    await overlay.progress("Checking with the server…");
    const check = await createCheck(settings, image, {
      pageUrl: info.pageUrl ?? tab.url,
      sourceUrl: info.srcUrl,
    });
    const thumbnail = await makeThumbnail(image).catch(() => null);
    await addCheck(entryFromCheck(check, thumbnail));
    await overlay.showResult(check);
  } catch (error) {
    await overlay.showError(describeError(error));
  }
}
