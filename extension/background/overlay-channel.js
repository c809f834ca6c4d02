// Talking to the overlay in the page. The content scripts are injected only when the user checks
// an image (not into every page), into the frame that holds the image. Where no script can run
// (the Web Store, chrome:// pages, PDFs) the result goes to the toolbar badge and "my checks".
import { presentCheck } from "../lib/present.js";

// Classic scripts (content scripts cannot be ES modules), run in this order in one isolated world.
export const OVERLAY_SCRIPTS = [
  "content/geometry.js",
  "content/find-image.js",
  "content/video-frames.js",
  "content/overlay-style.js",
  "content/overlay-view.js",
  "content/overlay-anchor.js",
  "content/overlay-main.js",
];

const BADGE = {
  fake: { text: "FAKE", color: "#c62828" },
  real: { text: "REAL", color: "#2e7d32" },
  uncertain: { text: "?", color: "#f9a825" },
};

async function injectScripts({ tabId, frameId }) {
  const alreadyThere = await chrome.tabs.sendMessage(tabId, { type: "ping" }, { frameId }).catch(() => null);
  if (alreadyThere?.ready) {
    return true;
  }
  try {
    await chrome.scripting.executeScript({ target: { tabId, frameIds: [frameId] }, files: OVERLAY_SCRIPTS });
    return true;
  } catch {
    return false;
  }
}

/** The toolbar badge for this tab, where no script can show anything in the page. */
export async function setBadge(tabId, { text, color, title }) {
  await chrome.action.setBadgeBackgroundColor({ tabId, color }).catch(() => {});
  await chrome.action.setBadgeText({ tabId, text }).catch(() => {});
  await chrome.action.setTitle({ tabId, title }).catch(() => {});
}

/**
 * Show a progress overlay on the image and return what the check needs to update it.
 * Every method is safe to call when no overlay could be shown.
 * @param {{tabId: number, frameId: number}} target the frame holding the image
 * @param {string} srcUrl the image's URL (a video's, for a video frame)
 * @param {"image"|"video"} kind what the overlay sits on
 */
export async function openOverlay(target, srcUrl, kind = "image") {
  const requestId = crypto.randomUUID();
  const send = (message) => chrome.tabs
    .sendMessage(target.tabId, { ...message, requestId }, { frameId: target.frameId })
    .catch(() => null);
  const shown = (await injectScripts(target)) && Boolean((await send({ type: "start", srcUrl, kind }))?.started);
  return {
    shown,
    progress: (text) => (shown ? send({ type: "progress", text }) : null),
    readImageFromPage: () => (shown ? send({ type: "read-image", srcUrl }) : null),
    /** The video's frames, taken in the page ({frames, …} or {error}); null where no script runs. */
    captureFrames: (count) => (shown ? send({ type: "capture-frames", count }) : null),
    /**
     * @param {object} check the server's check
     * @param {{video?: object, frameDataUrl?: string}} extra a video check's frames (presentVideo) and the
     *   shown frame's picture, which the page keeps for a dispute the server can no longer match to an image
     */
    async showResult(check, extra = {}) {
      if (shown) {
        return send({ type: "result", checkId: check.id, verdict: check.verdict,
          display: { ...presentCheck(check), video: extra.video ?? null }, frameDataUrl: extra.frameDataUrl });
      }
      const { label, percentText } = presentCheck(check);
      return setBadge(target.tabId, { ...BADGE[check.verdict],
        title: `Deepfake Guard: ${label} (${percentText} fake probability). Open for details.` });
    },
    async showError(error) {
      if (shown) {
        return send({ type: "error", error });
      }
      return setBadge(target.tabId, { text: "!", color: "#37474f", title: `Deepfake Guard: ${error.title}. ${error.message}` });
    },
  };
}
