// Options: the server address and API key (chrome.storage.local `serverUrl`, `apiKey`), and a
// connection test that tries the values in the form — saved or not — so a typo shows before saving.
// Values an organisation's policy sets are shown locked; an enrolment code is exchanged for a key.
import { modelInfo, readiness, redeemEnrollment } from "../lib/api.js";
import { describeError } from "../lib/error-messages.js";
import { DEFAULT_SERVER_URL, normalizeServerUrl, readSettings, saveSettings } from "../lib/settings.js";
import { setUpScanSettings } from "./scan-options.js";
import { setUpVideoSettings } from "./video-options.js";

const $ = (selector) => document.querySelector(selector);

function say(text, kind) {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
}

/** The form's values, with the URL normalized; null (and the field marked) when it is not a URL. */
function formValues() {
  const field = $("#server-url");
  try {
    const serverUrl = normalizeServerUrl(field.value || DEFAULT_SERVER_URL);
    field.removeAttribute("aria-invalid");
    return { serverUrl, apiKey: $("#api-key").value.trim() };
  } catch (error) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
    say(error.message, "error");
    return null;
  }
}

let lockedKeys = [];

async function save(event) {
  event.preventDefault();
  const values = formValues();
  if (!values) return;
  const current = await chrome.storage.local.get(["serverUrl", "apiKey"]);
  // A locked field shows the policy's value: keep what was stored under it.
  const saved = await saveSettings({
    serverUrl: lockedKeys.includes("serverUrl") ? current.serverUrl || values.serverUrl : values.serverUrl,
    apiKey: lockedKeys.includes("apiKey") ? current.apiKey ?? "" : values.apiKey,
  });
  if (!lockedKeys.includes("serverUrl")) {
    $("#server-url").value = saved.serverUrl;
  }
  say("Saved.", "ok");
}

// /readyz first (no key: is the server there at all?), then /api/v1/model, which needs a valid
// key — so "server down" and "wrong key" read differently.
async function testConnection() {
  const settings = formValues();
  if (!settings) return;
  const button = $("#test");
  button.disabled = true;
  say(`Connecting to ${settings.serverUrl}…`, "busy");
  try {
    const ready = await readiness(settings);
    try {
      const model = await modelInfo(settings);
      say(`Connected. The server is ready with model ${model.version}, and it accepts the API key.`, "ok");
    } catch (error) {
      const { message } = describeError(error);
      say(error.kind === "unauthorized"
        ? `The server is up (model ${ready.model_version}), but it refused the API key. Check the key.`
        : message, "error");
    }
  } catch (error) {
    const { message, detail } = describeError(error);
    say(detail ? `${message} ${detail}` : message, "error");
  } finally {
    button.disabled = false;
  }
}

async function redeem(event) {
  event.preventDefault();
  const status = $("#enroll-status");
  const code = $("#enroll-code").value.trim();
  if (!code) {
    Object.assign(status, { textContent: "Enter the code your organisation gave you.", className: "error" });
    return;
  }
  const settings = await readSettings();
  Object.assign(status, { textContent: `Asking ${settings.serverUrl}…`, className: "busy" });
  try {
    const enrolled = await redeemEnrollment(settings, code);
    await chrome.storage.local.set({ apiKey: enrolled.api_key });
    if (!lockedKeys.includes("apiKey")) {
      $("#api-key").value = enrolled.api_key;
    }
    $("#enroll-code").value = "";
    Object.assign(status, { textContent: `Enrolled: this browser now has its own key (${enrolled.key_id}, "${enrolled.name}").`,
      className: "ok" });
    document.body.dataset.enrolled = enrolled.key_id;
  } catch (error) {
    const { message, detail } = describeError(error);
    Object.assign(status, { textContent: detail ? `${message} ${detail}` : message, className: "error" });
  }
}

function toggleKey() {
  const input = $("#api-key");
  const show = input.type === "password";
  input.type = show ? "text" : "password";
  $("#show-key").textContent = show ? "Hide" : "Show";
  $("#show-key").setAttribute("aria-pressed", String(show));
}

async function main() {
  $("#default-url").textContent = DEFAULT_SERVER_URL;
  $("#server-url").placeholder = DEFAULT_SERVER_URL;
  $("#origin-line").textContent = `DFG_EXTENSION_ORIGINS=${new URL(chrome.runtime.getURL("")).origin}`;
  const settings = await readSettings({ waitForPolicy: true });
  lockedKeys = settings.locked;
  $("#server-url").value = settings.serverUrl;
  $("#api-key").value = settings.apiKey;
  for (const [key, selector] of [["serverUrl", "#server-url"], ["apiKey", "#api-key"]]) {
    const locked = lockedKeys.includes(key);
    $(selector).disabled = locked;
    $(selector).title = locked ? "Set by your organisation" : "";
  }
  $("#managed-note").hidden = lockedKeys.length === 0;
  $("#enrollment").hidden = lockedKeys.includes("apiKey");   // a shared policy key needs no enrolment
  document.body.dataset.locked = lockedKeys.join(" ");
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("enroll");
  if (fromLink) {
    $("#enroll-code").value = fromLink;
  }
  $("#settings").addEventListener("submit", save);
  $("#enrollment").addEventListener("submit", redeem);
  $("#test").addEventListener("click", testConnection);
  $("#show-key").addEventListener("click", toggleKey);
  await setUpScanSettings();
  await setUpVideoSettings();
  document.body.dataset.loaded = "true"; // lets tests wait for the stored values
}

main();
