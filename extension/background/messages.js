// Requests from the overlay: the worker holds the server settings and makes the calls, so the
// page's content script never sees the API key.
import { checkImage } from "./check-image.js";
import { createDispute } from "../lib/api.js";
import { describeError } from "../lib/error-messages.js";
import { updateCheck } from "../lib/history.js";
import { reviewText } from "../lib/present.js";
import { readSettings } from "../lib/settings.js";

const MAX_COMMENT = 2000; // the server's limit

async function sendDispute({ checkId, label, comment }) {
  if (typeof checkId !== "string" || !["real", "fake"].includes(label)) {
    return { ok: false, error: describeError(new Error("the dispute needs a check and a label (real or fake)")) };
  }
  const text = typeof comment === "string" ? comment.trim().slice(0, MAX_COMMENT) : "";
  try {
    const answer = await createDispute(await readSettings(), checkId, { label, comment: text || undefined });
    const dispute = { id: answer.id, label, comment: text || null, status: answer.status ?? "queued",
      created_at: new Date().toISOString() };
    await updateCheck(checkId, { dispute });
    return { ok: true, reviewText: reviewText({ dispute }) };
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
    sendDispute(message).then(sendResponse);
    return true;
  }
  if (message?.type === "retry" && typeof message.srcUrl === "string" && sender.tab) {
    // "Try again" after an error: the same check, started from the overlay instead of the menu.
    checkImage({ srcUrl: message.srcUrl, pageUrl: sender.tab.url, frameId: sender.frameId }, sender.tab);
  }
  if (message?.type === "open-options") {
    chrome.runtime.openOptionsPage();
  }
  return false;
}
