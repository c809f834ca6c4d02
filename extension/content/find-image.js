// Which <img> was clicked, and its bytes when the worker cannot download them itself.
// The context menu reports only the image's URL, so the element is found by it; when one URL is
// shown several times, the one under the pointer wins, then the largest one in view.
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.findImage) return;

  const MAX_BYTES = 40 * 1024 * 1024; // extension messages are capped at 64 MiB of JSON

  const shows = (image, srcUrl) => image.currentSrc === srcUrl || image.src === srcUrl;

  // Images inside open shadow roots (web components) are not in document.images.
  function imagesInShadowRoots(root) {
    const found = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
    for (let node = walker.currentNode; node; node = walker.nextNode()) {
      if (node.shadowRoot) {
        found.push(...node.shadowRoot.querySelectorAll("img"), ...imagesInShadowRoots(node.shadowRoot));
      }
    }
    return found;
  }

  function visibleArea(image) {
    const rect = image.getBoundingClientRect();
    const width = Math.min(rect.right, innerWidth) - Math.max(rect.left, 0);
    const height = Math.min(rect.bottom, innerHeight) - Math.max(rect.top, 0);
    return Math.max(0, width) * Math.max(0, height);
  }

  /** The element the user clicked among `candidates`: the only one, else the one under the pointer, else the
   * largest in view (images here, videos in video-frames.js). */
  function likeliestClicked(candidates) {
    if (candidates.length <= 1) return candidates[0] ?? null;
    const hovered = candidates.find((element) => element.matches(":hover"));
    return hovered ?? candidates.reduce((best, element) => (visibleArea(element) > visibleArea(best) ? element : best));
  }

  /** @returns {HTMLImageElement|null} */
  function findImage(srcUrl) {
    let candidates = [...document.images].filter((image) => shows(image, srcUrl));
    if (candidates.length === 0) {
      candidates = imagesInShadowRoots(document.documentElement).filter((image) => shows(image, srcUrl));
    }
    return likeliestClicked(candidates);
  }

  function blobToDataUrl(blob) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  // The pixels the page already shows, re-encoded as PNG (so not the site's exact file). Only
  // possible for same-origin or CORS-enabled images; others "taint" the canvas and throw.
  async function paintedPixels(image) {
    if (!image?.complete || !image.naturalWidth) return null;
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    canvas.getContext("2d").drawImage(image, 0, 0);
    try {
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
      return blob ? blobToDataUrl(blob) : null;
    } catch {
      return null;
    }
  }

  /**
   * Read the image as the page can: a request from the page (blob: URLs, and images that need
   * the page's Referer or cookies), else the pixels it shows.
   * @returns {Promise<{dataUrl: string}|{error: string}>}
   */
  async function readImage(image, srcUrl) {
    let error = "the page could not read it";
    try {
      const response = await fetch(srcUrl, { credentials: "include" });
      if (response.ok) {
        const blob = await response.blob();
        if (blob.size > MAX_BYTES) return { error: `it is ${(blob.size / 1048576).toFixed(0)} MB, too large to pass on` };
        return { dataUrl: await blobToDataUrl(blob) };
      }
      error = `the site answered HTTP ${response.status}`;
    } catch {
      error = "the site does not let other sites read it";
    }
    const painted = await paintedPixels(image);
    return painted ? { dataUrl: painted } : { error };
  }

  ns.findImage = findImage;
  ns.readImage = readImage;
  ns.likeliestClicked = likeliestClicked;   // shared with video-frames.js, injected after this file
  ns.blobToDataUrl = blobToDataUrl;
})();
