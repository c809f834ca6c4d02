// lib/settings.js, without chrome.storage: an organisation's policy against what the user saved
// (which wins, what is locked), and the canonical forms of addresses and counts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  DEFAULT_SERVER_URL, SCAN_IN_FLIGHT_DEFAULT, SCAN_IN_FLIGHT_MAX, VIDEO_FRAMES_DEFAULT, VIDEO_FRAMES_MAX,
  clampInFlight, clampVideoFrames, mergeScanSettings,
  mergeServerSettings, normalizeOrigin, normalizeServerUrl, policyFromManaged,
} from "../lib/settings.js";

const NO_POLICY = policyFromManaged({});

describe("policyFromManaged", () => {
  it("is empty without a policy", () => {
    assert.deepEqual(NO_POLICY, { values: {}, locked: [] });
  });

  it("locks every value it sets", () => {
    const policy = policyFromManaged({ serverUrl: "https://dfg.example.org", apiKey: "org-key",
      scanAllowList: ["https://news.example.org"], scanInFlight: 3 });
    assert.deepEqual(policy.values, { serverUrl: "https://dfg.example.org", apiKey: "org-key",
      scanAllowList: ["https://news.example.org"], scanInFlight: 3 });
    assert.deepEqual(policy.locked, ["serverUrl", "apiKey", "scanAllowList", "scanInFlight"]);
  });

  it("locks nothing with allowUserChanges: true (and only true)", () => {
    assert.deepEqual(policyFromManaged({ serverUrl: "https://dfg.example.org", allowUserChanges: true }).locked, []);
    assert.deepEqual(policyFromManaged({ serverUrl: "https://dfg.example.org", allowUserChanges: "true" }).locked,
      ["serverUrl"]);
  });

  it("ignores values of the wrong type and keys it does not know", () => {
    const policy = policyFromManaged({ serverUrl: "", apiKey: 42, scanAllowList: ["https://a.example", 7],
      scanInFlight: 2.5, checks: [] });
    assert.deepEqual(policy, { values: {}, locked: [] });
  });
});

describe("mergeServerSettings", () => {
  it("defaults to the local server, with no key", () => {
    assert.deepEqual(mergeServerSettings(NO_POLICY, {}), { serverUrl: DEFAULT_SERVER_URL, apiKey: "", locked: [] });
  });

  it("uses what the user saved, normalized and trimmed", () => {
    assert.deepEqual(mergeServerSettings(NO_POLICY, { serverUrl: " https://dfg.example.org/ ", apiKey: " mine \n" }),
      { serverUrl: "https://dfg.example.org", apiKey: "mine", locked: [] });
  });

  it("a locked policy value wins over what the user saved", () => {
    const policy = policyFromManaged({ serverUrl: "https://org.example/dfg/", apiKey: "org-key" });
    assert.deepEqual(mergeServerSettings(policy, { serverUrl: "http://127.0.0.1:9000", apiKey: "mine" }),
      { serverUrl: "https://org.example/dfg", apiKey: "org-key", locked: ["serverUrl", "apiKey"] });
  });

  it("an unlocked policy value is the default under what the user saved", () => {
    const policy = policyFromManaged({ serverUrl: "https://org.example", apiKey: "org-key", allowUserChanges: true });
    assert.deepEqual(mergeServerSettings(policy, { apiKey: "mine" }),
      { serverUrl: "https://org.example", apiKey: "mine", locked: [] });
    assert.equal(mergeServerSettings(policy, { apiKey: "" }).apiKey, "org-key"); // an empty saved key does not hide it
  });

  it("locks only the keys the policy sets", () => {
    const policy = policyFromManaged({ serverUrl: "https://org.example", scanInFlight: 4 });
    const settings = mergeServerSettings(policy, { serverUrl: "http://other.example", apiKey: "mine" });
    assert.deepEqual(settings, { serverUrl: "https://org.example", apiKey: "mine", locked: ["serverUrl"] });
  });

  it("keeps an invalid stored address as it is, to fail loudly at the first request", () => {
    assert.equal(mergeServerSettings(NO_POLICY, { serverUrl: "dfg.example.org" }).serverUrl, "dfg.example.org");
  });
});

describe("mergeScanSettings", () => {
  it("defaults to no sites and the default count", () => {
    assert.deepEqual(mergeScanSettings(NO_POLICY, {}), { allowList: [], inFlight: SCAN_IN_FLIGHT_DEFAULT, locked: [] });
  });

  it("uses the saved sites as origins, dropping malformed entries, and clamps the count", () => {
    const local = { scanAllowList: ["https://news.example.org/world", "not a site", "ftp://files.example"],
      scanInFlight: 99 };
    assert.deepEqual(mergeScanSettings(NO_POLICY, local),
      { allowList: ["https://news.example.org"], inFlight: SCAN_IN_FLIGHT_MAX, locked: [] });
  });

  it("a locked policy wins and is reported locked; server keys are not in the scan's list", () => {
    const policy = policyFromManaged({ apiKey: "org-key", scanAllowList: ["https://intranet.example"], scanInFlight: 1 });
    assert.deepEqual(mergeScanSettings(policy, { scanAllowList: ["https://mine.example"], scanInFlight: 5 }),
      { allowList: ["https://intranet.example"], inFlight: 1, locked: ["scanAllowList", "scanInFlight"] });
  });

  it("an unlocked policy is the default; an empty saved list still counts as the user's choice", () => {
    const policy = policyFromManaged({ scanAllowList: ["https://intranet.example"], scanInFlight: 4, allowUserChanges: true });
    assert.deepEqual(mergeScanSettings(policy, {}), { allowList: ["https://intranet.example"], inFlight: 4, locked: [] });
    assert.deepEqual(mergeScanSettings(policy, { scanAllowList: [] }).allowList, []);
  });
});

describe("normalizeServerUrl", () => {
  it("trims, keeps the path and drops trailing slashes", () => {
    assert.equal(normalizeServerUrl("  https://Dfg.Example.org:8443/api//  "), "https://dfg.example.org:8443/api");
    assert.equal(normalizeServerUrl("http://127.0.0.1:8000/"), "http://127.0.0.1:8000");
  });

  it("drops a query and a fragment", () => {
    assert.equal(normalizeServerUrl("https://dfg.example.org/?x=1#top"), "https://dfg.example.org");
  });

  it("refuses what is not an http(s) URL, saying what to enter", () => {
    assert.throws(() => normalizeServerUrl("dfg.example.org"), /"dfg\.example\.org" is not a URL\. .*http:\/\/127\.0\.0\.1:8000/);
    assert.throws(() => normalizeServerUrl(undefined), /"" is not a URL/);
    assert.throws(() => normalizeServerUrl("ftp://dfg.example.org"), /must start with http:\/\/ or https:\/\/ \(got ftp:\)/);
  });
});

describe("normalizeOrigin", () => {
  it("keeps the origin only", () => {
    assert.equal(normalizeOrigin(" https://News.Example.org/world?page=2 "), "https://news.example.org");
    assert.equal(normalizeOrigin("http://example.org:8080/a"), "http://example.org:8080");
  });

  it("refuses what is not an http(s) site", () => {
    assert.throws(() => normalizeOrigin("news.example.org"), /is not a site address\. Write it as https:\/\/news\.example\.org/);
    assert.throws(() => normalizeOrigin("file:///etc/hosts"), /Only http:\/\/ and https:\/\/ sites can be scanned/);
  });
});

describe("clampInFlight", () => {
  it("keeps 1..max, caps above it, and takes the default for anything else", () => {
    assert.equal(clampInFlight(1), 1);
    assert.equal(clampInFlight("3"), 3);
    assert.equal(clampInFlight(SCAN_IN_FLIGHT_MAX + 1), SCAN_IN_FLIGHT_MAX);
    for (const value of [0, -1, 2.5, "two", undefined, null]) {
      assert.equal(clampInFlight(value), SCAN_IN_FLIGHT_DEFAULT, String(value));
    }
  });
});

describe("clampVideoFrames", () => {
  it("keeps 1..8 frames and falls back to the default for anything else", () => {
    assert.equal(clampVideoFrames(3), 3);
    assert.equal(clampVideoFrames(VIDEO_FRAMES_MAX + 4), VIDEO_FRAMES_MAX);
    for (const wrong of [0, -2, 2.5, "x", undefined, null]) {
      assert.equal(clampVideoFrames(wrong), VIDEO_FRAMES_DEFAULT, String(wrong));
    }
  });

  it("is a setting a policy may set", () => {
    assert.deepEqual(policyFromManaged({ videoFrames: 4 }), { values: { videoFrames: 4 }, locked: ["videoFrames"] });
  });
});
