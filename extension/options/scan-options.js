// Options → Page scan: checks at a time (`scanInFlight`, 1..6) and the sites scanned on page load
// (`scanAllowList`, origins), in chrome.storage.local; what an organisation's policy sets is locked.
import { readScanSettings, saveScanSettings } from "../lib/settings.js";

const $ = (selector) => document.querySelector(selector);

function say(text, kind) {
  Object.assign($("#scan-status"), { textContent: text, className: kind });
}

let locked = [];

async function save(event) {
  event.preventDefault();
  const list = $("#scan-allow-list");
  const current = await readScanSettings();
  try {
    const saved = await saveScanSettings({
      allowList: locked.includes("scanAllowList") ? current.allowList : list.value.split(/\s+/),
      inFlight: locked.includes("scanInFlight") ? current.inFlight : Number($("#scan-in-flight").value),
    });
    list.removeAttribute("aria-invalid");
    if (!locked.includes("scanAllowList")) list.value = saved.scanAllowList.join("\n");
    if (!locked.includes("scanInFlight")) $("#scan-in-flight").value = saved.scanInFlight;
    say("Saved.", "ok");
  } catch (error) {
    list.setAttribute("aria-invalid", "true");
    list.focus();
    say(error.message, "error");
  }
}

export async function setUpScanSettings() {
  const settings = await readScanSettings(); // the options page just refreshed the policy copy (readSettings)
  locked = settings.locked;
  $("#scan-in-flight").value = settings.inFlight;
  $("#scan-allow-list").value = settings.allowList.join("\n");
  for (const [key, selector] of [["scanInFlight", "#scan-in-flight"], ["scanAllowList", "#scan-allow-list"]]) {
    $(selector).disabled = locked.includes(key);
    $(selector).title = locked.includes(key) ? "Set by your organisation" : "";
  }
  $("#scan-managed-note").hidden = locked.length === 0;
  $("#scan-save").hidden = locked.length === 2;
  $("#scan-settings").addEventListener("submit", save);
}
