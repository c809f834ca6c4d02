// Where the server is and the key to use: chrome.storage.local keys `serverUrl` and `apiKey`
// (other tools and the tests set them there directly, so the names are part of the contract).

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

/** @returns {Promise<{serverUrl: string, apiKey: string}>} */
export async function readSettings() {
  const { serverUrl, apiKey } = await chrome.storage.local.get(["serverUrl", "apiKey"]);
  let url = DEFAULT_SERVER_URL;
  try {
    url = serverUrl ? normalizeServerUrl(serverUrl) : DEFAULT_SERVER_URL;
  } catch {
    url = String(serverUrl); // an invalid stored value fails loudly at the first request
  }
  return { serverUrl: url, apiKey: (apiKey ?? "").trim() };
}

/** @param {{serverUrl: string, apiKey: string}} settings */
export async function saveSettings({ serverUrl, apiKey }) {
  const saved = { serverUrl: normalizeServerUrl(serverUrl), apiKey: String(apiKey ?? "").trim() };
  await chrome.storage.local.set(saved);
  return saved;
}
