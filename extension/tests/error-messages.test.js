// lib/error-messages.js: which failure becomes which message kind, title and advice.
import { describe, it } from "node:test";
import assert from "node:assert/strict";

import { ApiError } from "../lib/api.js";
import { ImageError, describeError } from "../lib/error-messages.js";

const SERVER = "http://127.0.0.1:8000";
const problem = (slug, fields = {}) => ({ type: `https://deepfake-guard.dev/problems/${slug}`, ...fields });

describe("describeError: the server's answers", () => {
  it("maps each ApiError kind to its message kind and title", () => {
    const cases = [
      [new ApiError("unreachable", { serverUrl: SERVER }), "unreachable", "Server not reachable"],
      [new ApiError("timeout", { serverUrl: SERVER, timeoutMs: 60_000 }), "timeout", "Server too slow"],
      [new ApiError("unauthorized", { status: 401, problem: problem("unauthorized") }), "unauthorized", "API key refused"],
      [new ApiError("too-large", { status: 413 }), "too-large", "Image too large"],
      [new ApiError("unsupported", { status: 415 }), "unsupported", "Not a supported image"],
      [new ApiError("corrupt", { status: 422 }), "corrupt", "Image could not be read"],
      [new ApiError("not-found", { status: 404 }), "not-found", "Check not found"],
      [new ApiError("conflict", { status: 409 }), "conflict", "Server could not take this"],
      [new ApiError("rate-limited", { status: 429 }), "rate-limited", "Too many checks"],
      [new ApiError("server", { status: 503 }), "server", "Server error"],
      [new ApiError("bad-response", { serverUrl: SERVER }), "bad-response", "Unexpected answer"],
    ];
    for (const [error, kind, title] of cases) {
      const described = describeError(error);
      assert.equal(described.kind, kind, error.kind);
      assert.equal(described.title, title, error.kind);
      assert.ok(described.message.length > 0, error.kind);
    }
  });

  it("tells a revoked key (problem type key-revoked) from a refused one", () => {
    const revoked = describeError(new ApiError("unauthorized", { status: 401, detail: "Revoked on 2025-06-01.",
      problem: problem("key-revoked") }));
    assert.equal(revoked.kind, "revoked");
    assert.equal(revoked.title, "API key revoked");
    assert.equal(revoked.action, "options");
    assert.equal(revoked.detail, "Revoked on 2025-06-01.");
    assert.match(revoked.message, /revoked by your organisation.*new enrolment code/);
    assert.equal(describeError(new ApiError("unauthorized", { status: 403, problem: null })).kind, "unauthorized");
  });

  it("offers Options where the address or the key is at fault, and nowhere else", () => {
    assert.equal(describeError(new ApiError("unreachable", { serverUrl: SERVER })).action, "options");
    assert.equal(describeError(new ApiError("unauthorized", {})).action, "options");
    assert.equal(describeError(new ApiError("timeout", { serverUrl: SERVER, timeoutMs: 1000 })).action, undefined);
    assert.equal(describeError(new ApiError("server", { status: 500 })).action, undefined);
  });

  it("names the server, the wait and the status in the message", () => {
    assert.match(describeError(new ApiError("unreachable", { serverUrl: SERVER })).message,
      /Can't reach the Deepfake Guard server at http:\/\/127\.0\.0\.1:8000\./);
    assert.match(describeError(new ApiError("timeout", { serverUrl: SERVER, timeoutMs: 60_000 })).message,
      /did not answer within 60 seconds/);
    assert.match(describeError(new ApiError("server", { status: 502 })).message, /\(HTTP 502\)/);
    assert.match(describeError(new ApiError("bad-response", { serverUrl: SERVER, status: 200 })).message, /\(HTTP 200\)\.$/);
    assert.match(describeError(new ApiError("bad-response", { serverUrl: SERVER })).message, /understand\.$/);
  });

  it("says when to try again after a 429", () => {
    assert.match(describeError(new ApiError("rate-limited", { retryAfter: 7 })).message, /try again in 7 s\.$/);
    assert.match(describeError(new ApiError("rate-limited", { retryAfter: null })).message, /try again shortly\.$/);
  });

  it("lists the formats the server accepts for an unsupported file", () => {
    const error = new ApiError("unsupported", { problem: problem("unsupported-media-type",
      { accepted_formats: ["JPEG", "PNG", "WebP"] }) });
    assert.match(describeError(error).message, /\(it accepts JPEG, PNG, WebP\)\.$/);
    assert.match(describeError(new ApiError("unsupported", { problem: null })).message, /kind of file\.$/);
  });

  it("keeps the server's detail, except for a conflict where it is the message", () => {
    assert.equal(describeError(new ApiError("corrupt", { detail: "Truncated JPEG." })).detail, "Truncated JPEG.");
    assert.equal(describeError(new ApiError("corrupt", { detail: "" })).detail, undefined);
    const conflict = describeError(new ApiError("conflict", { status: 409, detail: "The image is no longer kept." }));
    assert.equal(conflict.message, "The image is no longer kept.");
    assert.equal(conflict.detail, undefined);
    assert.equal(describeError(new ApiError("conflict", { status: 409 })).message, "The server refused the request (HTTP 409).");
  });
});

describe("describeError: the image itself", () => {
  it("says where the image could not be read from, and why", () => {
    const described = describeError(new ImageError("image-unavailable", { host: "cdn.example.org", reason: "HTTP 403" }));
    assert.equal(described.kind, "image-unavailable");
    assert.equal(described.title, "Couldn't get the image");
    assert.match(described.message, /could read this image from cdn\.example\.org \(HTTP 403\)\. Try opening/);
    assert.match(describeError(new ImageError("image-unavailable")).message, /could read this image\. Try opening/);
  });

  it("gives an image too large in MB against the limit", () => {
    const described = describeError(new ImageError("image-too-large", { bytes: 45 * 1024 * 1024, limit: 40 * 1024 * 1024 }));
    assert.equal(described.kind, "image-too-large");
    assert.equal(described.message, "The image is 45.0 MB; the extension sends at most 40.0 MB.");
  });
});

describe("describeError: anything else", () => {
  it("is 'unexpected' and keeps the original message", () => {
    assert.deepEqual(describeError(new TypeError("x is undefined")), { kind: "unexpected",
      title: "Something went wrong", message: "The check failed unexpectedly: x is undefined" });
    assert.equal(describeError({ kind: "something-new", message: "odd" }).kind, "unexpected");
    assert.equal(describeError("plain text").message, "The check failed unexpectedly: plain text");
    assert.equal(describeError(undefined).kind, "unexpected");
  });
});

describe("ImageError", () => {
  it("is an Error carrying its kind and facts", () => {
    const error = new ImageError("image-too-large", { bytes: 1, limit: 2 });
    assert.ok(error instanceof Error);
    assert.equal(error.name, "ImageError");
    assert.deepEqual({ kind: error.kind, bytes: error.bytes, limit: error.limit },
      { kind: "image-too-large", bytes: 1, limit: 2 });
  });
});
