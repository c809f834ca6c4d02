// Options: the server address and API key (chrome.storage.local `serverUrl`, `apiKey`), and a
// connection test that tries the values in the form — saved or not — so a typo shows before saving.
import { modelInfo, readiness } from "../lib/api.js";
import { describeError } from "../lib/error-messages.js";
import { DEFAULT_SERVER_URL, normalizeServerUrl, readSettings, saveSettings } from "../lib/settings.js";

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

async function save(event) {
  event.preventDefault();
  const values = formValues();
  if (!values) return;
  const saved = await saveSettings(values);
  $("#server-url").value = saved.serverUrl;
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
  const settings = await readSettings();
  $("#server-url").value = settings.serverUrl;
  $("#api-key").value = settings.apiKey;
  $("#settings").addEventListener("submit", save);
  $("#test").addEventListener("click", testConnection);
  $("#show-key").addEventListener("click", toggleKey);
  document.body.dataset.loaded = "true"; // lets tests wait for the stored values
}

main();
