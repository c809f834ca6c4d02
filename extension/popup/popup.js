// "My checks": the history from chrome.storage.local at once, then each unfinished review
// refreshed from the server (GET /api/v1/checks/{id}) and saved back.
import { getCheck } from "../lib/api.js";
import { describeError } from "../lib/error-messages.js";
import { clearChecks, listChecks, updateCheck } from "../lib/history.js";
import { clock, percent, relativeTime, reviewText, verdictLabel } from "../lib/present.js";
import { readSettings } from "../lib/settings.js";
import { setUpScanButtons } from "./scan-buttons.js";

const REFRESH_AT_MOST = 20;  // the newest ones; older reviews are refreshed as they move up
const REFRESH_IN_PARALLEL = 4;

const $ = (selector) => document.querySelector(selector);

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return null;
  }
}

function item(entry) {
  const { label, tone } = entry.reason === "declared"
    ? { label: "Declared AI-generated", tone: "fake" }
    : verdictLabel(entry.verdict);
  const li = document.createElement("li");
  Object.assign(li.dataset, { checkId: entry.id, verdict: entry.verdict,
    reviewStatus: entry.review?.status ?? entry.dispute?.status ?? "none" });
  const thumb = document.createElement("img");
  Object.assign(thumb, { className: "thumb", alt: "", src: entry.thumbnail || "../icons/icon-48.png" });
  const body = document.createElement("div");
  body.className = "body";
  const line = document.createElement("div");
  line.className = "line";
  const verdict = Object.assign(document.createElement("span"), { className: `verdict tone-${tone}`, textContent: label });
  const odds = Object.assign(document.createElement("span"), { className: "percent", textContent: `${percent(entry.fake_probability)} fake` });
  const time = Object.assign(document.createElement("time"), { textContent: relativeTime(entry.checked_at) });
  time.dateTime = new Date(entry.checked_at).toISOString();
  time.title = new Date(entry.checked_at).toLocaleString();
  line.append(verdict, odds, time);
  body.append(line);
  const host = hostOf(entry.page_url);
  if (host) {
    const site = Object.assign(document.createElement("a"), { className: "site", href: entry.page_url, target: "_blank",
      rel: "noreferrer", textContent: host, title: entry.page_url });
    body.append(site);
  }
  if (entry.video) {
    const frames = entry.video.frames > 1 ? `, the most suspicious of ${entry.video.frames} frames` : "";
    body.append(Object.assign(document.createElement("p"), { className: "video",
      textContent: `Video frame at ${clock(entry.video.time)}${frames}` }));
  }
  if (entry.provenance?.text) {
    const line = Object.assign(document.createElement("p"), {
      className: `provenance provenance-${entry.provenance.tone}`, textContent: entry.provenance.text });
    line.dataset.provenance = entry.provenance.tone;
    body.append(line);
  }
  const review = reviewText(entry);
  if (review) {
    body.append(Object.assign(document.createElement("p"), { className: "review", textContent: review }));
  }
  li.append(thumb, body);
  return li;
}

function render(entries) {
  $("#checks").replaceChildren(...entries.map(item));
  $("#empty").hidden = entries.length > 0;
  $("#clear").hidden = entries.length === 0;
}

function showStatus(text, kind = "warning") {
  const status = $("#status");
  status.textContent = text;
  status.className = kind;
  status.hidden = !text;
}

// A review is over once reviewers relabeled the image; until then the server may have news.
const settled = (entry) => entry.review?.status === "relabeled";

async function refresh(entries) {
  const due = entries.filter((entry) => !settled(entry)).slice(0, REFRESH_AT_MOST);
  if (due.length === 0) return;
  const settings = await readSettings();
  const failures = [];
  const queue = [...due];
  const worker = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      try {
        const check = await getCheck(settings, entry.id);
        await updateCheck(entry.id, { dispute: check.dispute ?? null, review: check.review ?? null });
      } catch (error) {
        failures.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: REFRESH_IN_PARALLEL }, worker));
  render(await listChecks());
  // A check the server forgot is not worth a warning; an unreachable server or a bad key is.
  const serious = failures.find((error) => error.kind !== "not-found");
  showStatus(serious ? `Showing saved results. ${describeError(serious).message}` : "");
}

async function main() {
  $("#open-options").addEventListener("click", () => chrome.runtime.openOptionsPage());
  $("#clear").addEventListener("click", async () => {
    await clearChecks();
    render([]);
  });
  setUpScanButtons();
  const entries = await listChecks();
  render(entries);
  await refresh(entries);
  document.body.dataset.refreshed = "true"; // lets tests wait for the server's answer
}

main();
