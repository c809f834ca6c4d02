// "Check this video frame": the overlay on the video at once, then the frames from the page (one, or a
// few at a fixed spacing: options), each checked like an image and tied together by one group id, and
// the most suspicious frame shown with the others listed. Black frames are never sent.
import { createCheck } from "../lib/api.js";
import { decodeDataUrl } from "../lib/data-url.js";
import { ImageError, describeError } from "../lib/error-messages.js";
import { addCheck, entryFromCheck } from "../lib/history.js";
import { presentVideo } from "../lib/present.js";
import { readSettings, readVideoSettings } from "../lib/settings.js";
import { openOverlay } from "./overlay-channel.js";
import { makeThumbnail } from "./thumbnail.js";
import { isBlackFrame } from "./video-frame.js";

/** The frames the page took, as images, without the black ones; throws what to tell the user when none is left. */
async function usableFrames(captured) {
  if (!captured) {
    throw new ImageError("video-unreadable", { reason: "the extension cannot run on this page" });
  }
  if (captured.error) {
    throw new ImageError(captured.error, { reason: captured.reason });
  }
  const frames = [];
  for (const frame of captured.frames) {
    const image = decodeDataUrl(frame.dataUrl);
    if (!(await isBlackFrame(image))) {
      frames.push({ ...frame, image });
    }
  }
  if (frames.length === 0) {
    throw new ImageError("video-black");
  }
  return { frames, blank: captured.frames.length - frames.length };
}

/**
 * Handle a click on "Check this video frame".
 * @param {chrome.contextMenus.OnClickData} info srcUrl (the video's, may be blob:), pageUrl, frameId
 * @param {chrome.tabs.Tab|undefined} tab
 */
export async function checkVideoFrame(info, tab) {
  if (!tab || tab.id === undefined || tab.id < 0) {
    return;
  }
  const overlay = await openOverlay({ tabId: tab.id, frameId: info.frameId ?? 0 }, info.srcUrl ?? "", "video");
  try {
    const [settings, { frames: wanted }] = await Promise.all([readSettings(), readVideoSettings()]);
    await overlay.progress(wanted > 1 ? `Reading ${wanted} frames of the video…` : "Reading the video frame…");
    const captured = await overlay.captureFrames(wanted);
    const { frames, blank } = await usableFrames(captured);
    await overlay.progress(frames.length > 1 ? `Checking ${frames.length} frames with the server…` : "Checking with the server…");
    const group = crypto.randomUUID();
    const checks = [];
    for (const frame of frames) { // one at a time: the server's per-key limits count each frame
      checks.push(await createCheck(settings, frame.image, { pageUrl: info.pageUrl ?? tab.url, sourceUrl: info.srcUrl,
        videoTime: frame.time, videoGroup: group }));
    }
    const shownIndex = checks.reduce((best, check, index) => (check.fake_probability > checks[best].fake_probability ? index : best), 0);
    const shown = checks[shownIndex];
    const thumbnail = await makeThumbnail(frames[shownIndex].image).catch(() => null);
    await addCheck(entryFromCheck(shown, thumbnail, checks.length));
    const video = presentVideo({ checks, shown, wanted, playing: captured.playing, stepped: captured.stepped, blank,
      via: frames.map((frame) => frame.via) });
    await overlay.showResult(shown, { video, frameDataUrl: frames[shownIndex].dataUrl });
  } catch (error) {
    await overlay.showError(describeError(error));
  }
}
