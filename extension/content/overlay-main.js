// The overlay's side of the conversation with the worker. One overlay per check (keyed by the
// worker's request id); checking an image again replaces its overlay. This state lives in the
// page's isolated world, which lasts as long as the page — unlike the worker's globals.
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.overlaysReady) return;
  ns.overlaysReady = true;

  const overlays = new Map();      // request id → { view, image (or video), stopFollowing, kind, frameDataUrl }
  const requestFor = new WeakMap(); // image → request id of its overlay

  function remove(requestId) {
    const overlay = overlays.get(requestId);
    if (!overlay) return;
    overlays.delete(requestId);
    overlay.stopFollowing();
    overlay.view.close();
  }

  function start(requestId, srcUrl, shownOn = null, kind = "image") {
    const image = shownOn ?? (kind === "video" ? ns.findVideo(srcUrl) : ns.findImage(srcUrl));
    if (image && requestFor.has(image)) remove(requestFor.get(image));
    const view = new ns.OverlayView({
      onClose: () => remove(requestId),
      onDispute: (label, comment) => chrome.runtime.sendMessage({
        type: "dispute", checkId: view.checkId, label, comment, srcUrl, requestId, kind }),
      onExplain: (face) => chrome.runtime.sendMessage({ type: "explain", checkId: view.checkId, face }),
      onOpenOptions: () => chrome.runtime.sendMessage({ type: "open-options" }),
      onRetry: () => {
        remove(requestId);
        chrome.runtime.sendMessage({ type: "retry", srcUrl, kind });
      },
    });
    let stopFollowing = () => {};
    if (image) {
      requestFor.set(image, requestId);
      stopFollowing = ns.follow(image, view);
    } else {
      view.float();
    }
    overlays.set(requestId, { view, image, stopFollowing, kind, frameDataUrl: null });
  }

  /**
   * The full overlay for a check that is already done (a page scan's badge), without checking again.
   * @param {HTMLImageElement} image
   * @param {string} srcUrl
   * @param {{result?: object, error?: object}} answer the worker's result or error, as for one check
   */
  ns.showCheck = (image, srcUrl, { result, error }) => {
    const requestId = crypto.randomUUID();
    start(requestId, srcUrl, image);
    const { view } = overlays.get(requestId);
    if (result) view.showResult(result);
    else view.showError(error);
  };

  chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (sender.id !== chrome.runtime.id) return false;
    const view = overlays.get(message.requestId)?.view;
    switch (message.type) {
      case "ping":
        sendResponse({ ready: true });
        return false;
      case "start":
        start(message.requestId, message.srcUrl, null, message.kind);
        sendResponse({ started: true });
        return false;
      case "progress":
        view?.showProgress(message.text);
        break;
      case "read-image": {
        // A video frame cannot be read again (the video moved on): the page kept the one checked.
        const overlay = overlays.get(message.requestId);
        if (overlay?.kind === "video") {
          sendResponse(overlay.frameDataUrl ? { dataUrl: overlay.frameDataUrl } : { error: "the video frame was not kept" });
          return false;
        }
        ns.readImage(overlay?.image ?? null, message.srcUrl).then(sendResponse);
        return true;
      }
      case "capture-frames": {
        const overlay = overlays.get(message.requestId);
        ns.captureVideoFrames(overlay?.image ?? null, message.count).then(sendResponse);
        return true;
      }
      case "result":
        if (message.frameDataUrl && overlays.has(message.requestId)) {
          overlays.get(message.requestId).frameDataUrl = message.frameDataUrl;
        }
        view?.showResult(message);
        break;
      case "error":
        view?.showError(message.error);
        break;
      default:
        return false;
    }
    sendResponse({ ok: Boolean(view) });
    return false;
  });
})();
