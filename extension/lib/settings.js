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

const MANAGED_KEYS = ["serverUrl", "apiKey", "scanAllowList", "scanInFlight", "videoFrames"];
// What a policy value must look like to be used; anything else in managed storage is ignored.
const MANAGED_TYPES = {
  serverUrl: (value) => typeof value === "string" && value !== "",
  apiKey: (value) => typeof value === "string" && value !== "",
  scanAllowList: (value) => Array.isArray(value) && value.every((item) => typeof item === "string"),
  scanInFlight: (value) => Number.isInteger(value),
  videoFrames: (value) => Number.isInteger(value),
};
// Without any policy, Chromium answers chrome.storage.managed.get only after ~1.8 s (measured in the
// e2e timings), and reading it on every check cost ~90 ms even with a race. So checks read a copy in
// storage.local (MIRROR_KEY), which the service worker refreshes at install, at browser start and
// whenever the policy changes; only before the first copy exists do they wait for Chromium.
const MIRROR_KEY = "managedPolicy";

async function freshPolicy() {
  let managed = {};
  try {
    managed = (await chrome.storage.managed.get(null)) ?? {};
  } catch {
    managed = {};
  }
  await chrome.storage.local.set({ [MIRROR_KEY]: managed });
  return managed;
}

async function managedStorage(waitForPolicy) {
  if (!waitForPolicy) {
    const { [MIRROR_KEY]: mirror } = await chrome.storage.local.get(MIRROR_KEY);
    if (mirror && typeof mirror === "object") {
      return mirror;
    }
  }
  return freshPolicy();
}

/**
 * Pure: what a policy sets (values of the wrong type are ignored) and which of them the user may
 * not change: all of them, unless it also sets `allowUserChanges: true`.
 * @param {object} managed the contents of chrome.storage.managed
 * @returns {{values: object, locked: string[]}}
 */
export function policyFromManaged(managed) {
  const values = Object.fromEntries(MANAGED_KEYS.filter((key) => MANAGED_TYPES[key](managed[key]))
    .map((key) => [key, managed[key]]));
  return { values, locked: managed.allowUserChanges === true ? [] : Object.keys(values) };
}

/**
 * The organisation's policy: the values it sets and which of them the user may not change.
 * Empty without a policy (or where managed storage is unavailable).
 * @param {{waitForPolicy?: boolean}} options ask Chromium now, however long it takes (the options
 *   page, the refresh), instead of the copy checks use
 * @returns {Promise<{values: object, locked: string[]}>}
 */
export async function readPolicy({ waitForPolicy = false } = {}) {
  return policyFromManaged(await managedStorage(waitForPolicy));
}

/**
 * @param {{waitForPolicy?: boolean}} options see readPolicy
 * @returns {Promise<{serverUrl: string, apiKey: string, locked: string[]}>}
 */
export async function readSettings(options = {}) {
  const policy = await readPolicy(options);
  return mergeServerSettings(policy, await chrome.storage.local.get(["serverUrl", "apiKey"]));
}

/**
 * Pure: the server settings in force, from the policy and what the user saved.
 * @param {{values: object, locked: string[]}} policy from policyFromManaged
 * @param {{serverUrl?: string, apiKey?: string}} local chrome.storage.local's values
 * @returns {{serverUrl: string, apiKey: string, locked: string[]}}
 */
export function mergeServerSettings(policy, local) {
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
  return { serverUrl: url, apiKey: (apiKey ?? "").trim(),
    locked: policy.locked.filter((key) => key === "serverUrl" || key === "apiKey") };
}

/** @param {{serverUrl: string, apiKey: string}} settings */
export async function saveSettings({ serverUrl, apiKey }) {
  const saved = { serverUrl: normalizeServerUrl(serverUrl), apiKey: String(apiKey ?? "").trim() };
  await chrome.storage.local.set(saved);
  return saved;
}

// The page scan (docs/page-scan.md): chrome.storage.local `scanAllowList` (origins scanned on page
// load) and `scanInFlight` (checks at a time), under the policy like the server settings.
export const SCAN_IN_FLIGHT_DEFAULT = 2;
export const SCAN_IN_FLIGHT_MAX = 6;

/**
 * A site for the allow-list in its canonical form, its origin.
 * @param {string} text e.g. "https://news.example.org" (a path is dropped)
 * @returns {string} e.g. "https://news.example.org"
 * @throws {Error} with a message fit to show when it is not an http(s) address
 */
export function normalizeOrigin(text) {
  const trimmed = String(text ?? "").trim();
  let url;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error(`"${trimmed}" is not a site address. Write it as https://news.example.org`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`Only http:// and https:// sites can be scanned (got "${trimmed}").`);
  }
  return url.origin;
}

/** Pure: a count of checks at a time within 1..SCAN_IN_FLIGHT_MAX, the default for anything else. */
export function clampInFlight(value) {
  const number = Number(value);
  return Number.isInteger(number) && number >= 1 ? Math.min(number, SCAN_IN_FLIGHT_MAX) : SCAN_IN_FLIGHT_DEFAULT;
}

/**
 * @param {{waitForPolicy?: boolean}} options see readPolicy
 * @returns {Promise<{allowList: string[], inFlight: number, locked: string[]}>}
 */
export async function readScanSettings(options = {}) {
  const policy = await readPolicy(options);
  return mergeScanSettings(policy, await chrome.storage.local.get(["scanAllowList", "scanInFlight"]));
}

/** Pure: a locked policy value, else what the user saved, else the policy's value as a default. */
function pickSetting(policy, local, key) {
  return policy.locked.includes(key) ? policy.values[key] : local[key] ?? policy.values[key];
}

/**
 * Pure: the page-scan settings in force, from the policy and what the user saved.
 * @param {{values: object, locked: string[]}} policy from policyFromManaged
 * @param {{scanAllowList?: string[], scanInFlight?: number}} local chrome.storage.local's values
 * @returns {{allowList: string[], inFlight: number, locked: string[]}}
 */
export function mergeScanSettings(policy, local) {
  const pick = (key) => pickSetting(policy, local, key);
  const allowList = (pick("scanAllowList") ?? []).flatMap((text) => {
    try {
      return [normalizeOrigin(text)];
    } catch {
      return []; // a malformed entry (e.g. in a policy) matches nothing
    }
  });
  return { allowList, inFlight: clampInFlight(pick("scanInFlight")),
    locked: policy.locked.filter((key) => key.startsWith("scan")) };
}

/**
 * @param {{allowList: string[], inFlight: number}} scan allowList as typed (normalized here)
 * @throws {Error} naming the first entry that is not a site address
 */
export async function saveScanSettings({ allowList, inFlight }) {
  const saved = { scanAllowList: [...new Set(allowList.filter((text) => text.trim()).map(normalizeOrigin))],
    scanInFlight: clampInFlight(inFlight) };
  await chrome.storage.local.set(saved);
  return saved;
}

// "Check this video frame": chrome.storage.local `videoFrames`, the frames taken per video check
// (at a fixed spacing around the current time), under the policy like the other settings.
export const VIDEO_FRAMES_DEFAULT = 1;
export const VIDEO_FRAMES_MAX = 8;

/** Pure: a count of frames within 1..VIDEO_FRAMES_MAX, the default for anything else. */
export function clampVideoFrames(value) {
  const number = Number(value);
  return Number.isInteger(number) && number >= 1 ? Math.min(number, VIDEO_FRAMES_MAX) : VIDEO_FRAMES_DEFAULT;
}

/**
 * @param {{waitForPolicy?: boolean}} options see readPolicy
 * @returns {Promise<{frames: number, locked: boolean}>}
 */
export async function readVideoSettings(options = {}) {
  const policy = await readPolicy(options);
  const local = await chrome.storage.local.get("videoFrames");
  return { frames: clampVideoFrames(pickSetting(policy, local, "videoFrames")), locked: policy.locked.includes("videoFrames") };
}

/** @param {number} frames saved clamped to 1..VIDEO_FRAMES_MAX */
export async function saveVideoSettings(frames) {
  const saved = { videoFrames: clampVideoFrames(frames) };
  await chrome.storage.local.set(saved);
  return saved;
}
