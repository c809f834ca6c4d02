// "Check all images on this page" and "Stop scan" for the tab the popup belongs to. The worker
// decides (background/scan-control.js); a refused page (private window, not an http(s) web page)
// is said here. `#tab=<id>` names the tab instead of the active one: tests open the popup as a
// tab of its own, where the active tab would be the popup itself.

const $ = (selector) => document.querySelector(selector);

async function targetTab() {
  const named = Number(new URLSearchParams(location.hash.slice(1)).get("tab"));
  if (Number.isInteger(named) && named > 0) {
    return named;
  }
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  return tab?.id;
}

function say(text, kind = "") {
  Object.assign($("#scan-status"), { textContent: text, className: kind });
}

function showScan(status) {
  const on = Boolean(status?.on);
  $("#scan-start").hidden = on;
  $("#scan-stop").hidden = !on;
  if (status) {
    say(on ? `Scanning: checked ${status.checked} of ${status.found} images.`
      : `Scan stopped: checked ${status.checked} of ${status.found} images.`);
  }
}

async function refresh(tabId) {
  const { refusal, status } = await chrome.runtime.sendMessage({ type: "scan-status", tabId });
  if (refusal) {
    $("#scan-start").disabled = true;
    say(refusal, "refused");
    return;
  }
  showScan(status);
}

export async function setUpScanButtons() {
  const tabId = await targetTab();
  if (tabId === undefined) {
    $("#scan").hidden = true;
    return;
  }
  $("#scan-start").addEventListener("click", async () => {
    $("#scan-start").disabled = true;
    say("Starting the scan…");
    const started = await chrome.runtime.sendMessage({ type: "scan-start", tabId });
    $("#scan-start").disabled = false;
    if (!started?.ok) {
      say(started?.message ?? "The scan could not start.", "refused");
      return;
    }
    await refresh(tabId);
  });
  $("#scan-stop").addEventListener("click", async () => {
    await chrome.runtime.sendMessage({ type: "scan-stop", tabId });
    await refresh(tabId);
  });
  await refresh(tabId);
  document.body.dataset.scanReady = "true"; // lets tests wait for the tab's scan state
}
