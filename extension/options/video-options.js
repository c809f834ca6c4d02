// Options → Video: frames per "Check this video frame" (`videoFrames`, 1..8) in chrome.storage.local;
// locked where an organisation's policy sets it.
import { readVideoSettings, saveVideoSettings } from "../lib/settings.js";

const $ = (selector) => document.querySelector(selector);

async function save(event) {
  event.preventDefault();
  const { videoFrames } = await saveVideoSettings(Number($("#video-frames").value));
  $("#video-frames").value = videoFrames;
  Object.assign($("#video-status"), { textContent: "Saved.", className: "ok" });
}

export async function setUpVideoSettings() {
  const settings = await readVideoSettings();
  $("#video-frames").value = settings.frames;
  $("#video-frames").disabled = settings.locked;
  $("#video-frames").title = settings.locked ? "Set by your organisation" : "";
  $("#video-managed-note").hidden = !settings.locked;
  $("#video-save").hidden = settings.locked;
  $("#video-settings").addEventListener("submit", save);
}
