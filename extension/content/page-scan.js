// A page scan in the page (docs/page-scan.md): finds every visible image at least 128 px on its
// displayed short side, sends each distinct URL (`currentSrc`, so srcset and <picture> resolve to
// what is shown) once to the worker, which limits the checks in flight and deduplicates by bytes,
// and badges the images with the answers. While the scan is on it also watches for images that
// appear later (added to the DOM, a src that changes, lazy images that load as they come into view).
// Stopped, it sends nothing more. The scan's state lives here, in the page's isolated world, which
// lasts as long as the page — unlike the worker's globals.
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.pageScanReady) return;
  ns.pageScanReady = true;

  const MIN_SHORT_SIDE = 128;  // CSS px on screen: smaller images are icons, avatars, buttons
  const MAX_SENDS = 3;         // a message the worker never answered (Chrome stopped it) is sent again
  const SWEEP_DELAY_MS = 150;  // DOM changes come in bursts (infinite scroll adds a page at a time)

  let scan = null;

  const figures = () => ({
    on: scan.on, found: scan.byUrl.size, checked: scan.checked, images: scan.images.size,
    dedupedByUrl: scan.images.size - scan.byUrl.size, dedupedByBytes: scan.dedupedByBytes,
    skippedTiny: scan.tiny.size, rateLimited: scan.rateLimited, errors: scan.errors,
    pending: scan.pending, startedAt: scan.startedAt, lastAnswerAt: scan.lastAnswerAt,
  });

  /** "ok", "tiny" or "not-shown" (not loaded yet, hidden, no size). */
  function eligibility(image) {
    if (!image.isConnected || !image.complete || !image.naturalWidth || !(image.currentSrc || image.src)) return "not-shown";
    const rect = image.getBoundingClientRect();
    const style = getComputedStyle(image);
    if (rect.width === 0 || rect.height === 0 || style.visibility === "hidden" || Number(style.opacity) === 0) return "not-shown";
    return Math.min(rect.width, rect.height) < MIN_SHORT_SIDE ? "tiny" : "ok";
  }

  function badge(entry) {
    const { answer } = entry;
    if (answer.status === "error" || (answer.status === "done" && answer.result.scope !== "no_face")) {
      for (const image of entry.images) scan.layer.badge(image, { srcUrl: entry.srcUrl, ...answer });
    }
  }

  async function send(entry, scanState) {
    scanState.pending += 1;
    let answer = null;
    for (let attempt = 0; attempt < MAX_SENDS && !answer && scanState.on; attempt += 1) {
      answer = await chrome.runtime.sendMessage({ type: "scan-image", scanId: scanState.scanId, srcUrl: entry.srcUrl })
        .catch(() => null);
    }
    scanState.pending -= 1;
    if (scan !== scanState || !answer || answer.status === "stopped") return;
    entry.answer = answer;
    scanState.checked += 1;
    scanState.rateLimited += answer.rateLimited ?? 0;
    scanState.dedupedByBytes += answer.sameBytes ? 1 : 0;
    scanState.errors += answer.status === "error" ? 1 : 0;
    scanState.lastAnswerAt = performance.now();
    badge(entry);
    scanState.layer.show(figures());
  }

  function sweep() {
    scan.sweepTimer = 0;
    if (!scan.on) return;
    for (const image of document.images) {
      const seen = eligibility(image);
      if (seen === "tiny") scan.tiny.add(image);
      if (seen !== "ok") continue;
      scan.tiny.delete(image);
      scan.images.add(image);
      const srcUrl = image.currentSrc || image.src;
      let entry = scan.byUrl.get(srcUrl);
      if (!entry) {
        entry = { srcUrl, images: new Set(), answer: null };
        scan.byUrl.set(srcUrl, entry);
        send(entry, scan);
      }
      if (!entry.images.has(image)) {
        entry.images.add(image);
        if (entry.answer) badge(entry);
      }
    }
    scan.layer.show(figures());
  }

  function scheduleSweep() {
    if (scan?.on) scan.sweepTimer ||= setTimeout(sweep, SWEEP_DELAY_MS);
  }

  function start(scanId) {
    if (scan?.on) {
      sweep();
      return;
    }
    scan?.layer.host.remove();
    scan = {
      scanId, on: true, byUrl: new Map(), images: new Set(), tiny: new Set(), checked: 0, dedupedByBytes: 0,
      rateLimited: 0, errors: 0, pending: 0, startedAt: performance.now(), lastAnswerAt: null, sweepTimer: 0,
      layer: new ns.ScanLayer({
        onStop: () => {
          stop();
          chrome.runtime.sendMessage({ type: "scan-stopped" }).catch(() => null);
        },
        onOpen: (image, answer) => ns.showCheck(image, answer.srcUrl, answer),
      }),
    };
    scan.observer = new MutationObserver(scheduleSweep);
    scan.observer.observe(document.documentElement, { childList: true, subtree: true, attributes: true,
      attributeFilter: ["src", "srcset", "sizes", "style", "class", "hidden"] });
    // Images that finish loading (lazy ones coming into view among them). `load` does not bubble,
    // and an element's load event never reaches the window: catch it on the document, capturing.
    document.addEventListener("load", scheduleSweep, { capture: true, passive: true });
    addEventListener("resize", scheduleSweep, { passive: true });
    sweep();
  }

  function stop() {
    if (!scan?.on) return;
    scan.on = false;
    scan.observer.disconnect();
    clearTimeout(scan.sweepTimer);
    document.removeEventListener("load", scheduleSweep, { capture: true });
    removeEventListener("resize", scheduleSweep);
    scan.layer.show(figures());
  }

  chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
    if (sender.id !== chrome.runtime.id) return false;
    switch (message.type) {
      case "scan-start":
        start(message.scanId);
        sendResponse({ started: true });
        return false;
      case "scan-stop":
        stop();
        sendResponse({ stopped: true });
        return false;
      case "scan-status":
        sendResponse(scan ? figures() : null);
        return false;
      case "scan-read-image": {
        const image = [...(scan?.byUrl.get(message.srcUrl)?.images ?? [])][0] ?? ns.findImage(message.srcUrl);
        ns.readImage(image, message.srcUrl).then(sendResponse);
        return true;
      }
      default:
        return false;
    }
  });
})();
