// "My checks": the recent checks in chrome.storage.local under `checks`, newest first, capped.
// The worker adds to it and the popup refreshes it, possibly at the same moment: every
// read-modify-write runs under one Web Lock, which all of the extension's pages and its worker share.

import { provenanceLine } from "./present.js";

const STORAGE_KEY = "checks";
const LOCK_NAME = "deepfake-guard-history";

/** How many checks are kept: enough to look back over a day, small enough for storage.local (thumbnails ~5 KB). */
export const HISTORY_LIMIT = 50;

/**
 * A history entry from the server's check: what the popup shows, nothing more.
 * @param {object} check the server's check JSON
 * @param {string|null} thumbnail a small JPEG data: URL
 * @param {number} [frames] for a video frame: how many frames of the video were checked with it
 */
export function entryFromCheck(check, thumbnail, frames) {
  const sourceUrl = check.source_url && /^https?:/.test(check.source_url) ? check.source_url : null;
  return {
    id: check.id,
    verdict: check.verdict,
    reason: check.reason ?? "model",
    provenance: provenanceLine(check),
    fake_probability: check.fake_probability,
    scope: check.scope,
    faces: (check.faces ?? []).length,
    model_version: check.model_version,
    page_url: check.page_url ?? null,
    source_url: sourceUrl,
    video: check.video ? { time: check.video.time, frames: frames ?? 1 } : null,
    thumbnail,
    dispute: check.dispute ?? null,
    review: check.review ?? null,
    checked_at: Date.now(),
  };
}

/** Pure: `entry` first, replacing any entry with its id, at most `limit` entries. */
export function withEntry(entries, entry, limit = HISTORY_LIMIT) {
  return [entry, ...entries.filter((old) => old.id !== entry.id)].slice(0, limit);
}

/** Pure: the entry with id `id` updated by `patch`; others untouched. */
export function withPatch(entries, id, patch) {
  return entries.map((entry) => (entry.id === id ? { ...entry, ...patch } : entry));
}

/** @returns {Promise<object[]>} newest first */
export async function listChecks() {
  const { [STORAGE_KEY]: entries } = await chrome.storage.local.get(STORAGE_KEY);
  return Array.isArray(entries) ? entries : [];
}

async function change(transform) {
  return navigator.locks.request(LOCK_NAME, async () => {
    const entries = transform(await listChecks());
    await chrome.storage.local.set({ [STORAGE_KEY]: entries });
    return entries;
  });
}

export const addCheck = (entry) => change((entries) => withEntry(entries, entry));
export const updateCheck = (id, patch) => change((entries) => withPatch(entries, id, patch));
export const clearChecks = () => change(() => []);
