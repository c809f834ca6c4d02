// The Deepfake Guard server's HTTP API v1, as the worker, the popup and the options page use it.
// Requests never carry cookies (`credentials: "omit"`): the server knows callers by their API key.

/** Every way a call can fail; `describeError` (error-messages.js) turns each into words. */
export class ApiError extends Error {
  /**
   * @param {string} kind unreachable | timeout | unauthorized | too-large | unsupported | corrupt |
   *   not-found | conflict | rate-limited | server | bad-response
   * @param {object} facts status, title, detail (from the server's problem+json), serverUrl, …
   */
  constructor(kind, facts = {}) {
    super(facts.detail || facts.title || kind);
    this.name = "ApiError";
    this.kind = kind;
    Object.assign(this, facts);
  }
}

const KIND_BY_STATUS = {
  401: "unauthorized", 403: "unauthorized", 404: "not-found", 409: "conflict",
  413: "too-large", 415: "unsupported", 422: "corrupt", 429: "rate-limited",
};

const CHECK_TIMEOUT_MS = 60_000;   // the server's own worker timeout is 60 s
const READ_TIMEOUT_MS = 15_000;

async function call(settings, path, { method = "GET", body, headers = {}, auth = true, timeoutMs = READ_TIMEOUT_MS } = {}) {
  const { serverUrl, apiKey } = settings;
  const requestHeaders = { Accept: "application/json, application/problem+json", ...headers };
  if (auth && apiKey) {
    requestHeaders.Authorization = `Bearer ${apiKey}`;
  }
  let response;
  try {
    response = await fetch(serverUrl + path, {
      method, body, headers: requestHeaders,
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const timedOut = error?.name === "TimeoutError" || error?.name === "AbortError";
    throw new ApiError(timedOut ? "timeout" : "unreachable", { serverUrl, timeoutMs, cause: String(error) });
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const kind = KIND_BY_STATUS[response.status] ?? (response.status >= 500 ? "server" : "bad-response");
    throw new ApiError(kind, {
      serverUrl, status: response.status,
      title: payload?.title, detail: payload?.detail, problem: payload,
      retryAfter: Number(response.headers.get("Retry-After")) || null,
    });
  }
  if (payload === null) {
    throw new ApiError("bad-response", { serverUrl, status: response.status,
      detail: `${serverUrl}${path} did not answer with JSON. Is this address a Deepfake Guard server?` });
  }
  return payload;
}

// The server rejects context URLs over 2048 characters; the check matters more than the context.
const MAX_CONTEXT_URL = 2048;

/**
 * Check an image.
 * @param {{serverUrl: string, apiKey: string}} settings
 * @param {Blob} image the image bytes as the site served them
 * @param {{pageUrl?: string, sourceUrl?: string, videoTime?: number, videoGroup?: string}} context where
 *   the image was seen; a source URL that is not http(s) is left out (data: and blob: URLs mean nothing
 *   elsewhere). A video frame adds its time in the video (seconds) and one id for the frames checked together.
 * @returns {Promise<object>} the check (id, verdict, fake_probability, faces, scope, image, video, …)
 */
export function createCheck(settings, image, { pageUrl, sourceUrl, videoTime, videoGroup } = {}) {
  const form = new FormData();
  form.append("image", image, "image");
  const source = /^https?:/i.test(sourceUrl ?? "") ? sourceUrl : undefined;
  for (const [field, value] of [["page_url", pageUrl], ["source_url", source]]) {
    if (value && value.length <= MAX_CONTEXT_URL) {
      form.append(field, value);
    }
  }
  if (Number.isFinite(videoTime)) {
    form.append("video_time", String(Math.max(0, Math.round(videoTime * 1000) / 1000)));
    if (videoGroup) {
      form.append("video_group", videoGroup);
    }
  }
  return call(settings, "/api/v1/checks", { method: "POST", body: form, timeoutMs: CHECK_TIMEOUT_MS });
}

/** The check as the server has it now, with `dispute` and `review`. */
export function getCheck(settings, checkId) {
  return call(settings, `/api/v1/checks/${encodeURIComponent(checkId)}`);
}

/**
 * Where the model looked: heatmaps for a check's faces, computed from the image the server kept.
 * @param {{serverUrl: string, apiKey: string}} settings
 * @param {string} checkId
 * @param {number|null} face one face's index in the check's faces; null for all
 * @returns {Promise<object>} {method, legend, faces: [{index, box, fake_probability, heatmap: {region, size, values}}]}
 */
export function getExplanation(settings, checkId, face = null) {
  const query = Number.isInteger(face) ? `?face=${face}` : "";
  return call(settings, `/api/v1/checks/${encodeURIComponent(checkId)}/explanation${query}`,
    { timeoutMs: CHECK_TIMEOUT_MS });
}

/**
 * Tell the server the verdict is wrong.
 * @param {{serverUrl: string, apiKey: string}} settings
 * @param {string} checkId
 * @param {{label: "real"|"fake", comment?: string, image?: Blob}} dispute with `image`, the checked
 *   image is sent again (multipart), for a server that no longer holds it (409 image-not-kept)
 * @returns {Promise<{id: string, status: string}>}
 */
export function createDispute(settings, checkId, { label, comment, image }) {
  const path = `/api/v1/checks/${encodeURIComponent(checkId)}/disputes`;
  if (image) {
    const form = new FormData();
    form.append("label", label);
    if (comment) {
      form.append("comment", comment);
    }
    form.append("image", image, "image");
    return call(settings, path, { method: "POST", body: form, timeoutMs: CHECK_TIMEOUT_MS });
  }
  const body = JSON.stringify(comment ? { label, comment } : { label });
  return call(settings, path, { method: "POST", body, headers: { "Content-Type": "application/json" } });
}

/** True when the server answered that it no longer holds the checked image. */
export function isImageNotKept(error) {
  return error instanceof ApiError && error.kind === "conflict"
    && String(error.problem?.type ?? "").endsWith("/image-not-kept");
}

/** `/readyz`: is the server up with a model loaded (no key needed). */
export function readiness(settings) {
  return call(settings, "/readyz", { auth: false });
}

/** `/api/v1/model`: the model answering checks; needs a valid key, so it tests the key too. */
export function modelInfo(settings) {
  return call(settings, "/api/v1/model");
}

/**
 * Redeem a one-time enrolment code (`deepfake-guard keys enroll`) for a key of this person's own.
 * @param {{serverUrl: string}} settings
 * @param {string} code
 * @returns {Promise<{api_key: string, key_id: string, name: string}>}
 */
export function redeemEnrollment(settings, code) {
  return call(settings, "/api/v1/enrollments", { method: "POST", auth: false,
    body: JSON.stringify({ code: code.trim() }), headers: { "Content-Type": "application/json" } });
}
