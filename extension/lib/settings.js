// Where the server is and the key to use: chrome.storage.local keys `serverUrl` and `apiKey`
// (other tools and the tests set them there directly, so the names are part of the contract).
// An organisation's policy (chrome.storage.managed, schema in managed_schema.json) comes first: what
// it sets is used, and locked, unless it also sets `allowUserChanges`.

/** What `deepfake-guard serve` listens on by default, so a local setup needs no configuration. */
export const DEFAULT_SERVER_URL = "http://127.0.0.1:8000";

/**
 * The server URL in a canonical form: trimmed, http(s) only, no trailing slash.
 * @param {string} text what the user typed
 * @returns {string}
 * @throws {Error} with a message fit to show when the text is not an http(s) URL
 */
export function normalizeServerUrl(text) {
  const trimmed = String(text ?? "").trim();
  let url;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error(`"${trimmed}" is not a URL. Enter the server's address, e.g. ${DEFAULT_SERVER_URL}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`The server address must start with http:// or https:// (got ${url.protocol}).`);
  }
  return (url.origin + url.pathname).replace(/\/+$/, "");
}

const MANAGED_KEYS = ["serverUrl", "apiKey"];

/**
 * The organisation's policy: the values it sets and which of them the user may not change.
 * Empty without a policy (or where managed storage is unavailable).
 * @returns {Promise<{values: object, locked: string[]}>}
 */
export async function readPolicy() {
  let managed = {};
  try {
    managed = (await chrome.storage.managed.get(null)) ?? {};
  } catch {
    managed = {};
  }
  const values = Object.fromEntries(MANAGED_KEYS.filter((key) => typeof managed[key] === "string" && managed[key])
    .map((key) => [key, managed[key]]));
  return { values, locked: managed.allowUserChanges === true ? [] : Object.keys(values) };
}

/** @returns {Promise<{serverUrl: string, apiKey: string, locked: string[]}>} */
export async function readSettings() {
  const policy = await readPolicy();
  const local = await chrome.storage.local.get(MANAGED_KEYS);
  // A locked policy value wins; an unlocked one is the default under what the user saved.
  const pick = (key) => (policy.locked.includes(key) ? policy.values[key] : local[key] || policy.values[key]);
  const serverUrl = pick("serverUrl");
  const apiKey = pick("apiKey");
  let url = DEFAULT_SERVER_URL;
  try {
    url = serverUrl ? normalizeServerUrl(serverUrl) : DEFAULT_SERVER_URL;
  } catch {
    url = String(serverUrl); // an invalid stored value fails loudly at the first request
  }
  return { serverUrl: url, apiKey: (apiKey ?? "").trim(), locked: policy.locked };
}

/** @param {{serverUrl: string, apiKey: string}} settings */
export async function saveSettings({ serverUrl, apiKey }) {
  const saved = { serverUrl: normalizeServerUrl(serverUrl), apiKey: String(apiKey ?? "").trim() };
  await chrome.storage.local.set(saved);
  return saved;
}
