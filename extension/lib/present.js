// How a check reads to a person: verdict words, percentages, review status, times. Pure functions
// shared by the worker (which sends ready-made text to the overlay) and the popup.

const VERDICTS = {
  fake: { label: "Likely fake", tone: "fake" },
  real: { label: "Likely real", tone: "real" },
  uncertain: { label: "Uncertain", tone: "uncertain" },
};

export const NO_FACE_NOTE = "No face found: the whole image was scored, which is weak evidence.";

/** @param {number} probability 0..1 @returns {string} e.g. "87%" */
export function percent(probability) {
  return `${Math.round(Number(probability) * 100)}%`;
}

/** @param {string} verdict fake | real | uncertain */
export function verdictLabel(verdict) {
  return VERDICTS[verdict] ?? { label: String(verdict), tone: "uncertain" };
}

/**
 * The provenance line: what the image's own metadata declares, or null when it declares nothing.
 * Tone "declared" (generative AI declared), "changed" (Content Credentials no longer match), or "info".
 * @param {{provenance?: object|null}} check
 */
export function provenanceLine(check) {
  const found = check.provenance;
  if (!found?.summary) {
    return null;
  }
  const tone = found.declared_ai ? "declared" : found.changed_after_signing ? "changed" : "info";
  return { text: found.summary, tone };
}

/**
 * Everything the overlay draws for a check, as text and numbers.
 * @param {object} check the server's check JSON
 */
export function presentCheck(check) {
  const { label, tone } = check.reason === "declared"
    ? { label: "Declared AI-generated", tone: "fake" }
    : verdictLabel(check.verdict);
  const faces = check.faces ?? [];
  const counted = check.scope === "faces"
    ? `${faces.length} face${faces.length === 1 ? "" : "s"} checked`
    : "whole image checked";
  return {
    label, tone,
    percentText: percent(check.fake_probability),
    summary: `${check.reason === "declared" ? "The model alone: " : ""}${percent(check.fake_probability)} fake probability · ${counted}`,
    note: check.scope === "no_face" ? NO_FACE_NOTE : null,
    faces: faces.map((face) => ({ box: face.box, percentText: percent(face.fake_probability) })),
    imageSize: { width: check.image?.width, height: check.image?.height },
    modelVersion: check.model_version,
    provenance: provenanceLine(check),
    reviewText: reviewText(check),
  };
}

/**
 * The state of a check's dispute and human review in a few words, or null when there is none.
 * @param {{verdict?: string, dispute?: object|null, review?: object|null}} check
 */
export function reviewText(check) {
  const { dispute, review } = check;
  const status = review?.status ?? dispute?.status;
  if (!status) {
    return null;
  }
  const said = dispute ? `You said ${dispute.label}. ` : "";
  if (status === "relabeled") {
    const label = review?.label;
    if (label && label === check.verdict) {
      return `${said}Reviewers confirmed: ${label}.`;
    }
    return `${said}Reviewers relabeled it as ${label ?? "another label"}.`;
  }
  if (status === "in_review") {
    return `${said}In review.`;
  }
  if (status === "undecided") {
    return `${said}Reviewers could not decide; it is not used for training.`;
  }
  // Queued: by the user's dispute, or by the server itself for an uncertain verdict.
  return dispute ? `${said}Sent for review (queued).` : "Queued for human review.";
}

/**
 * "just now", "5 min ago", "3 h ago", "2 days ago", then the date.
 * @param {number} then milliseconds since the epoch
 * @param {number} now
 */
export function relativeTime(then, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 7) return `${days} day${days === 1 ? "" : "s"} ago`;
  return new Date(then).toLocaleDateString();
}

/**
 * A time in a video as people read it: "01:23", or "1:02:03" past an hour; with `tenths`, "01:23.4" (frames
 * half a second apart). The server's review tasks write times the same way.
 */
export function clock(seconds, { tenths = false } = {}) {
  const value = Math.max(0, Number(seconds) || 0);
  const whole = tenths ? Math.floor(Math.round(value * 10) / 10) : Math.floor(value);
  const hours = Math.floor(whole / 3600);
  const minutes = String(Math.floor(whole / 60) % 60).padStart(2, "0");
  const rest = String(whole % 60).padStart(2, "0");
  const tenth = tenths ? `.${Math.round(value * 10) % 10}` : "";
  return hours ? `${hours}:${minutes}:${rest}${tenth}` : `${minutes}:${rest}${tenth}`;
}

/**
 * What the overlay says about a video check: the frame shown (the most suspicious), the others, and
 * what the capture could not do.
 * @param {{checks: object[], shown: object, wanted: number, playing: boolean, stepped: boolean,
 *   blank: number, via: string[]}} video the server's checks of the frames in time order, the one shown
 *   (the highest fake probability), how many frames were asked for, and how they were taken
 */
export function presentVideo({ checks, shown, wanted, playing, stepped, blank = 0, via = [] }) {
  const at = clock(shown.video?.time);
  const line = checks.length > 1
    ? `Video frame at ${at}, the most suspicious of ${checks.length} frames`
    : `Video frame at ${at}`;
  const notes = [];
  if (wanted > 1 && checks.length + blank < wanted) {
    const taken = checks.length + blank;
    if (playing) notes.push(`The video stopped playing after ${taken} of ${wanted} frames.`);
    else if (stepped) notes.push(`Only ${taken} of ${wanted} frames, half a second apart, fit in the video around this moment.`);
    else notes.push(`The page did not let the paused video be stepped: ${taken} of ${wanted} frames taken.`);
  }
  if (blank > 0) {
    notes.push(`${blank} black frame${blank === 1 ? " was" : "s were"} not checked (protected video, or no picture yet).`);
  }
  if (via.includes("tab")) {
    notes.push("The video is from another site: its frame was read from the screen, at the size shown.");
  }
  return {
    line,
    frames: checks.length > 1 ? checks.map((check) => ({ time: clock(check.video?.time, { tenths: true }), checkId: check.id,
      verdict: check.verdict, percentText: percent(check.fake_probability), shown: check.id === shown.id })) : [],
    notes,
  };
}
