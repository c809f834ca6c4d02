// Requests from the overlay: the worker holds the server settings and makes the calls, so the
// page's content script never sees the API key.
import { checkImage } from "./check-image.js";
import { checkVideoFrame } from "./check-video.js";
import { createDispute, getExplanation, isImageNotKept } from "../lib/api.js";
import { decodeDataUrl } from "../lib/data-url.js";
import { ImageError, describeError } from "../lib/error-messages.js";
import { updateCheck } from "../lib/history.js";
import { reviewText } from "../lib/present.js";
import { readSettings } from "../lib/settings.js";
import { readImageBytes } from "./image-bytes.js";
import { captureRegion } from "./video-frame.js";

const MAX_COMMENT = 2000; // the server's limit

/**
 * Post the dispute. A server that no longer holds the image (its retention passed, or another
 * server behind the same address made the check) answers 409 image-not-kept: the image is read
 * again the way the check read it and sent with the dispute, so the dispute is not lost.
 */
async function postDispute(settings, checkId, dispute, { srcUrl, requestId, kind }, sender) {
  try {
    return await createDispute(settings, checkId, dispute);
  } catch (error) {
    if (!isImageNotKept(error) || typeof srcUrl !== "string" || !sender.tab) {
      throw error;
    }
    const readFromPage = () => chrome.tabs
      .sendMessage(sender.tab.id, { type: "read-image", srcUrl, requestId }, { frameId: sender.frameId ?? 0 })
      .catch(() => null);
    // A video frame is never read again from its URL (that is the whole video): the page kept the checked frame.
    const image = kind === "video" ? await keptFrame(readFromPage) : await readImageBytes(srcUrl, readFromPage);
    return createDispute(settings, checkId, { ...dispute, image });
  }
}

async function keptFrame(readFromPage) {
  const fromPage = await readFromPage();
  if (!fromPage?.dataUrl) {
    throw new ImageError("image-unavailable", { reason: "the checked video frame is no longer on the page" });
  }
  return decodeDataUrl(fromPage.dataUrl);
}

async function sendDispute({ checkId, label, comment, srcUrl, requestId, kind }, sender) {
  if (typeof checkId !== "string" || !["real", "fake"].includes(label)) {
    return { ok: false, error: describeError(new Error("the dispute needs a check and a label (real or fake)")) };
  }
  const text = typeof comment === "string" ? comment.trim().slice(0, MAX_COMMENT) : "";
  try {
    const answer = await postDispute(await readSettings(), checkId, { label, comment: text || undefined },
      { srcUrl, requestId, kind }, sender);
    const dispute = { id: answer.id, label, comment: text || null, status: answer.status ?? "queued",
      created_at: new Date().toISOString() };
    await updateCheck(checkId, { dispute });
    return { ok: true, reviewText: reviewText({ dispute }) };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/** "Why?" on a face box: the server's heatmap of that face, or an error fit to show. */
async function explainFace({ checkId, face }) {
  if (typeof checkId !== "string" || !(Number.isInteger(face) || face === null)) {
    return { ok: false, error: describeError(new Error("the explanation needs a check and a face")) };
  }
  try {
    const explanation = await getExplanation(await readSettings(), checkId, face);
    return { ok: true, legend: explanation.legend, face: explanation.faces[0] };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

/** chrome.runtime.onMessage listener: returns true when it will answer asynchronously. */
export function handleMessage(message, sender, sendResponse) {
  if (sender.id !== chrome.runtime.id) {
    return false;
  }
  if (message?.type === "dispute") {
    sendDispute(message, sender).then(sendResponse);
    return true;
  }
  if (message?.type === "explain") {
    explainFace(message).then(sendResponse);
    return true;
  }
  if (message?.type === "capture-tab" && sender.tab && message.region && message.viewport) {
    // A cross-origin video's frame, read from the screen (content/video-frames.js).
    captureRegion(sender.tab, message.region, message.viewport).then(sendResponse);
    return true;
  }
  if (message?.type === "retry" && typeof message.srcUrl === "string" && sender.tab) {
    // "Try again" after an error: the same check, started from the overlay instead of the menu.
    const again = message.kind === "video" ? checkVideoFrame : checkImage;
    again({ srcUrl: message.srcUrl, pageUrl: sender.tab.url, frameId: sender.frameId }, sender.tab);
  }
  if (message?.type === "open-options") {
    chrome.runtime.openOptionsPage();
  }
  return false;
}
