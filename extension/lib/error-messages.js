// Failures in words a user can act on. Pure: the worker sends the result to the overlay, the
// popup and options page show it as it is.

/** A failure before the server is asked: the image itself could not be had. */
export class ImageError extends Error {
  /**
   * @param {"image-unavailable"|"image-too-large"|"video-black"|"video-unreadable"|"video-not-ready"|
   *   "video-out-of-view"|"video-gone"} kind
   * @param {object} facts e.g. {reason, host} or {bytes, limit}
   */
  constructor(kind, facts = {}) {
    super(kind);
    this.name = "ImageError";
    this.kind = kind;
    Object.assign(this, facts);
  }
}

const megabytes = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * @param {Error & {kind?: string}} error an ApiError, an ImageError or anything thrown
 * @returns {{kind: string, title: string, message: string, detail?: string, action?: "options"}}
 *   `detail` is the server's own explanation where it adds something; `action: "options"` asks
 *   for a button that opens the options page.
 */
export function describeError(error) {
  const kind = error?.kind ?? "unexpected";
  const detail = error?.detail || undefined;
  switch (kind) {
    case "unreachable":
      return { kind, action: "options", title: "Server not reachable",
        message: `Can't reach the Deepfake Guard server at ${error.serverUrl}. Check that it is running `
          + "and that the address in Options is right." };
    case "timeout":
      return { kind, title: "Server too slow",
        message: `The server at ${error.serverUrl} did not answer within ${Math.round(error.timeoutMs / 1000)} `
          + "seconds. Try again in a moment." };
    case "unauthorized":
      if (String(error.problem?.type ?? "").endsWith("/key-revoked")) {
        return { kind: "revoked", action: "options", title: "API key revoked", detail,
          message: "Your API key was revoked by your organisation. Ask it for a new enrolment code and enter it in Options." };
      }
      return { kind, action: "options", title: "API key refused", detail,
        message: "The server refused the API key. Enter a valid key in Options (ask the server's operator for one)." };
    case "too-large":
      return { kind, title: "Image too large", detail,
        message: "This image is larger than the server accepts, so it was not checked." };
    case "unsupported": {
      const formats = error.problem?.accepted_formats;
      return { kind, title: "Not a supported image", detail,
        message: "The server can't check this kind of file"
          + (formats?.length ? ` (it accepts ${formats.join(", ")}).` : ".") };
    }
    case "corrupt":
      return { kind, title: "Image could not be read", detail,
        message: "The image seems to be corrupt or cut short, so it could not be checked." };
    case "not-found":
      return { kind, title: "Check not found", detail,
        message: "The server no longer has this check (or it was made with another API key)." };
    case "conflict":
      return { kind, title: "Server could not take this", detail: undefined,
        message: detail ?? `The server refused the request (HTTP ${error.status}).` };
    case "rate-limited":
      return { kind, title: "Too many checks", detail,
        message: `The server is limiting requests; try again${error.retryAfter ? ` in ${error.retryAfter} s` : " shortly"}.` };
    case "server":
      return { kind, title: "Server error", detail,
        message: `The server failed to answer (HTTP ${error.status}). Try again; if it keeps failing, tell its operator.` };
    case "bad-response":
      return { kind, title: "Unexpected answer", detail,
        message: `The server at ${error.serverUrl} answered in a way the extension does not understand`
          + (error.status ? ` (HTTP ${error.status}).` : ".") };
    case "image-unavailable":
      return { kind, title: "Couldn't get the image",
        message: `Neither the extension nor the page could read this image${error.host ? ` from ${error.host}` : ""}`
          + (error.reason ? ` (${error.reason}).` : ".") + " Try opening the image in its own tab and checking it there." };
    case "image-too-large":
      return { kind, title: "Image too large",
        message: `The image is ${megabytes(error.bytes)}; the extension sends at most ${megabytes(error.limit)}.` };
    case "video-black":
      return { kind, title: "The video frame is black",
        message: "The frame showed no picture, so nothing was checked. A protected (DRM) video shows black to "
          + "extensions; an unprotected one may not have drawn its picture yet: play it to a moment with a face and try again." };
    case "video-unreadable":
      return { kind, title: "Couldn't read the video frame",
        message: `The browser did not let the extension read this video's picture${error.reason ? ` (${error.reason})` : ""}. `
          + "Open the video on its own page and check it there." };
    case "video-not-ready":
      return { kind, title: "No video frame yet",
        message: "The video has not loaded a picture yet. Play it, or wait until it shows a frame, and try again." };
    case "video-out-of-view":
      return { kind, title: "Video not fully on screen",
        message: "This video is from another site, so its frame is read from the screen: scroll until the whole video is in view and try again." };
    case "video-gone":
      return { kind, title: "The video is gone",
        message: "The video was removed from the page before a frame could be read, so nothing was checked." };
    default:
      return { kind: "unexpected", title: "Something went wrong",
        message: `The check failed unexpectedly: ${error?.message ?? String(error)}` };
  }
}
