// lib/present.js: how a check reads to a person (verdict words, percentages, provenance, review, times).
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  NO_FACE_NOTE, clock, percent, presentCheck, presentVideo, provenanceLine, relativeTime, reviewText, verdictLabel,
} from "../lib/present.js";

const check = (fields = {}) => ({
  id: "c1", verdict: "fake", reason: "model", fake_probability: 0.873, scope: "faces",
  faces: [{ box: [10, 20, 30, 40], fake_probability: 0.9 }], image: { width: 640, height: 480 },
  model_version: "xception-7", provenance: null, dispute: null, review: null, ...fields,
});

describe("percent", () => {
  it("rounds a probability to a whole percentage", () => {
    assert.equal(percent(0.873), "87%");
    assert.equal(percent(0.875), "88%");
    assert.equal(percent(0), "0%");
    assert.equal(percent(1), "100%");
  });

  it("takes a probability sent as a string", () => {
    assert.equal(percent("0.5"), "50%");
  });
});

describe("verdictLabel", () => {
  it("names each verdict with its tone", () => {
    assert.deepEqual(verdictLabel("fake"), { label: "Likely fake", tone: "fake" });
    assert.deepEqual(verdictLabel("real"), { label: "Likely real", tone: "real" });
    assert.deepEqual(verdictLabel("uncertain"), { label: "Uncertain", tone: "uncertain" });
  });

  it("shows an unknown verdict as it is, in the uncertain tone", () => {
    assert.deepEqual(verdictLabel("maybe"), { label: "maybe", tone: "uncertain" });
  });
});

describe("provenanceLine", () => {
  const provenance = (fields) => ({ summary: "Content Credentials: signed by Example", declared_ai: false,
    changed_after_signing: false, ...fields });

  it("is null when the metadata declares nothing", () => {
    assert.equal(provenanceLine(check()), null);
    assert.equal(provenanceLine(check({ provenance: provenance({ summary: null }) })), null);
    assert.equal(provenanceLine({}), null);
  });

  it("is 'declared' for generative AI, which outranks changed credentials", () => {
    const line = provenanceLine(check({ provenance: provenance({ declared_ai: true, changed_after_signing: true }) }));
    assert.deepEqual(line, { text: "Content Credentials: signed by Example", tone: "declared" });
  });

  it("is 'changed' when the credentials no longer match, 'info' otherwise", () => {
    assert.equal(provenanceLine(check({ provenance: provenance({ changed_after_signing: true }) })).tone, "changed");
    assert.equal(provenanceLine(check({ provenance: provenance() })).tone, "info");
  });
});

describe("presentCheck", () => {
  it("draws a model verdict on faces", () => {
    const shown = presentCheck(check());
    assert.equal(shown.label, "Likely fake");
    assert.equal(shown.tone, "fake");
    assert.equal(shown.percentText, "87%");
    assert.equal(shown.summary, "87% fake probability · 1 face checked");
    assert.equal(shown.note, null);
    assert.deepEqual(shown.faces, [{ box: [10, 20, 30, 40], percentText: "90%" }]);
    assert.deepEqual(shown.imageSize, { width: 640, height: 480 });
    assert.equal(shown.modelVersion, "xception-7");
    assert.equal(shown.provenance, null);
    assert.equal(shown.reviewText, null);
  });

  it("counts faces in the plural", () => {
    const faces = [{ box: [0, 0, 1, 1], fake_probability: 0.1 }, { box: [2, 2, 1, 1], fake_probability: 0.2 }];
    assert.match(presentCheck(check({ faces })).summary, /· 2 faces checked$/);
  });

  it("says the whole image was scored when no face was found", () => {
    const shown = presentCheck(check({ verdict: "real", scope: "no_face", faces: [], fake_probability: 0.12 }));
    assert.equal(shown.label, "Likely real");
    assert.equal(shown.summary, "12% fake probability · whole image checked");
    assert.equal(shown.note, NO_FACE_NOTE);
    assert.deepEqual(shown.faces, []);
  });

  it("leads with the declaration when the metadata declares AI, the model's figure second", () => {
    const shown = presentCheck(check({ verdict: "real", reason: "declared", fake_probability: 0.2,
      provenance: { summary: "XMP: made with a generator", declared_ai: true } }));
    assert.equal(shown.label, "Declared AI-generated");
    assert.equal(shown.tone, "fake");
    assert.equal(shown.summary, "The model alone: 20% fake probability · 1 face checked");
    assert.deepEqual(shown.provenance, { text: "XMP: made with a generator", tone: "declared" });
  });

  it("copes with a check without faces or image size", () => {
    const shown = presentCheck({ verdict: "uncertain", fake_probability: 0.5, scope: "image" });
    assert.deepEqual(shown.faces, []);
    assert.deepEqual(shown.imageSize, { width: undefined, height: undefined });
    assert.equal(shown.summary, "50% fake probability · whole image checked");
  });
});

describe("reviewText", () => {
  it("is null with neither dispute nor review", () => {
    assert.equal(reviewText(check()), null);
  });

  it("says a disputed check is queued, and what the user said", () => {
    assert.equal(reviewText(check({ dispute: { label: "real", status: "queued" } })),
      "You said real. Sent for review (queued).");
  });

  it("says an uncertain verdict the server queued itself is queued for review", () => {
    assert.equal(reviewText(check({ verdict: "uncertain", review: { status: "queued" } })), "Queued for human review.");
  });

  it("prefers the review's status to the dispute's", () => {
    assert.equal(reviewText(check({ dispute: { label: "real", status: "queued" }, review: { status: "in_review" } })),
      "You said real. In review.");
  });

  it("tells a confirmed verdict from a relabeled one", () => {
    assert.equal(reviewText(check({ verdict: "fake", review: { status: "relabeled", label: "fake" } })),
      "Reviewers confirmed: fake.");
    assert.equal(reviewText(check({ verdict: "fake", dispute: { label: "real", status: "queued" },
      review: { status: "relabeled", label: "real" } })), "You said real. Reviewers relabeled it as real.");
    assert.equal(reviewText(check({ review: { status: "relabeled" } })), "Reviewers relabeled it as another label.");
  });

  it("says an undecided review is not used for training", () => {
    assert.equal(reviewText(check({ review: { status: "undecided" } })),
      "Reviewers could not decide; it is not used for training.");
  });
});

describe("relativeTime", () => {
  const now = Date.UTC(2025, 5, 15, 12, 0, 0);
  const ago = (seconds) => relativeTime(now - seconds * 1000, now);

  it("says 'just now' under 45 s, and for a time in the future", () => {
    assert.equal(ago(0), "just now");
    assert.equal(ago(44), "just now");
    assert.equal(ago(-600), "just now");
  });

  it("counts minutes, hours and days, rounded", () => {
    assert.equal(ago(45), "1 min ago");
    assert.equal(ago(5 * 60), "5 min ago");
    assert.equal(ago(59 * 60), "59 min ago");
    assert.equal(ago(60 * 60), "1 h ago");
    assert.equal(ago(3 * 3600), "3 h ago");
    assert.equal(ago(24 * 3600), "1 day ago");
    assert.equal(ago(2 * 86400), "2 days ago");
    assert.equal(ago(6 * 86400), "6 days ago");
  });

  it("gives the date from a week on", () => {
    const then = now - 7 * 86400 * 1000;
    assert.equal(relativeTime(then, now), new Date(then).toLocaleDateString());
  });
});

describe("clock", () => {
  it("writes a video time as mm:ss, h:mm:ss past an hour, and tenths when asked", () => {
    assert.equal(clock(0), "00:00");
    assert.equal(clock(83.96), "01:23");
    assert.equal(clock(3725.3), "1:02:05");
    assert.equal(clock(83.4, { tenths: true }), "01:23.4");
    assert.equal(clock(84.15, { tenths: true }), "01:24.2");   // as the server's review tasks round it
    assert.equal(clock(59.96, { tenths: true }), "01:00.0");
    assert.equal(clock(-3), "00:00");
  });
});

describe("presentVideo", () => {
  const frame = (id, time, fake) => check({ id, fake_probability: fake, video: { time, group: "g" } });
  const frames = [frame("a", 0.5, 0.1), frame("b", 1.0, 0.7), frame("c", 1.5, 0.2)];

  it("names the frame shown and lists every frame with its check", () => {
    const shown = presentVideo({ checks: frames, shown: frames[1], wanted: 3, playing: false, stepped: true });
    assert.equal(shown.line, "Video frame at 00:01, the most suspicious of 3 frames");
    assert.deepEqual(shown.frames.map((f) => [f.time, f.percentText, f.checkId, f.shown]),
      [["00:00.5", "10%", "a", false], ["00:01.0", "70%", "b", true], ["00:01.5", "20%", "c", false]]);
    assert.deepEqual(shown.notes, []);
  });

  it("says what fell short: a video that could not be stepped, black frames, a frame read from the screen", () => {
    const one = presentVideo({ checks: [frames[0]], shown: frames[0], wanted: 4, playing: false, stepped: false,
      blank: 1, via: ["tab"] });
    assert.equal(one.line, "Video frame at 00:00");
    assert.deepEqual(one.frames, []);
    assert.deepEqual(one.notes, [
      "The page did not let the paused video be stepped: 2 of 4 frames taken.",
      "1 black frame was not checked (protected video, or no picture yet).",
      "The video is from another site: its frame was read from the screen, at the size shown.",
    ]);
    const stopped = presentVideo({ checks: frames.slice(0, 2), shown: frames[1], wanted: 3, playing: true });
    assert.deepEqual(stopped.notes, ["The video stopped playing after 2 of 3 frames."]);
    const short = presentVideo({ checks: frames, shown: frames[1], wanted: 8, playing: false, stepped: true });
    assert.deepEqual(short.notes, ["Only 3 of 8 frames, half a second apart, fit in the video around this moment."]);
  });
});
