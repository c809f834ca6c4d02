// What a page scan draws: a small badge on each checked image (fake / uncertain / real, in the
// overlay's colours; none for an image without a face) and a chip "Checked k of n · Stop". One
// shadow root holds them all, so page CSS cannot reach them. Badges follow their images like the
// overlay does: on scroll (any scroller), resize and load, batched to one update per frame.
// The host element carries the scan's figures for tools and tests: data-scan-state (scanning |
// stopped), data-found, data-checked, data-images, data-deduplicated-by-url, data-deduplicated-by-bytes,
// data-skipped-tiny, data-rate-limited, data-errors.
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.ScanLayer) return;

  const TEXT = { fake: "Fake", real: "Real", uncertain: "Uncertain", error: "!" };
  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.badge { position: fixed; pointer-events: auto; cursor: pointer; display: inline-flex; align-items: center; gap: 4px;
  padding: 2px 7px; border-radius: 10px; border: 2px solid var(--tone); background: var(--tone); color: var(--on-tone);
  font: 700 11px/1.3 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; letter-spacing: normal;
  box-shadow: 0 1px 4px rgba(0, 0, 0, .35); }
.badge.hidden { display: none; }
.badge:focus-visible, button:focus-visible { outline: 3px solid #1565c0; outline-offset: 1px; }
.tone-fake { --tone: #c62828; --on-tone: #fff; }
.tone-real { --tone: #2e7d32; --on-tone: #fff; }
.tone-uncertain { --tone: #f9a825; --on-tone: #1b1f24; border-style: dashed; border-color: #7a5600; }
.tone-error { --tone: #455a64; --on-tone: #fff; }
.chip { position: fixed; right: 16px; bottom: 16px; pointer-events: auto; display: flex; align-items: center; gap: 8px;
  padding: 6px 8px 6px 12px; border-radius: 18px; background: #263238; color: #fff;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; box-shadow: 0 2px 10px rgba(0, 0, 0, .35); }
.chip button { font: inherit; font-weight: 600; color: #fff; background: #c62828; border: none; border-radius: 12px;
  padding: 2px 10px; cursor: pointer; }
.chip button.close { background: transparent; font-size: 16px; padding: 0 6px; }
`;

  class ScanLayer {
    /** @param {{onStop: Function, onOpen: (image: HTMLImageElement, badge: object) => void}} actions */
    constructor(actions) {
      this.actions = actions;
      this.badges = new Map(); // image → { element, answer }
      this.host = document.createElement("deepfake-guard-scan");
      this.host.style.cssText = "all: initial !important; position: fixed !important; left: 0 !important;"
        + " top: 0 !important; width: 0 !important; height: 0 !important; z-index: 2147483646 !important;";
      const shadow = this.host.attachShadow({ mode: "open" });
      this.layer = document.createElement("div");
      this.chip = document.createElement("div");
      this.chip.className = "chip";
      this.chip.setAttribute("role", "status");
      const style = document.createElement("style");
      style.textContent = CSS;
      shadow.append(style, this.layer, this.chip);
      document.documentElement.append(this.host);
      this.pending = 0;
      this.schedule = () => { this.pending ||= requestAnimationFrame(() => this.place()); };
      this.listening = { capture: true, passive: true };
      addEventListener("scroll", this.schedule, this.listening);
      addEventListener("resize", this.schedule, this.listening);
      document.addEventListener("load", this.schedule, this.listening); // images loading above move the others
    }

    /**
     * Badge an image with its answer (replacing an earlier badge).
     * @param {HTMLImageElement} image
     * @param {{srcUrl: string, result?: object, error?: object}} answer
     */
    badge(image, answer) {
      this.badges.get(image)?.element.remove();
      const tone = answer.result ? answer.result.display.tone : "error";
      const element = document.createElement("button");
      element.type = "button";
      element.className = `badge tone-${tone}`;
      element.textContent = answer.result ? `${TEXT[tone] ?? tone} ${answer.result.display.percentText}` : TEXT.error;
      element.title = answer.result
        ? `Deepfake Guard: ${answer.result.display.label} (${answer.result.display.percentText} fake probability). Click for details.`
        : `Deepfake Guard could not check this image: ${answer.error.title}. Click for details.`;
      Object.assign(element.dataset, { src: answer.srcUrl, verdict: answer.result?.verdict ?? "error",
        checkId: answer.result?.checkId ?? "" });
      element.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation(); // a badge on a linked image must not follow the link
        this.actions.onOpen(image, answer);
      });
      this.layer.append(element);
      this.badges.set(image, { element, answer });
      this.schedule();
    }

    place() {
      this.pending = 0;
      for (const [image, { element }] of this.badges) {
        const rect = image.getBoundingClientRect();
        const shown = image.isConnected && rect.width > 0 && rect.height > 0
          && rect.bottom > 0 && rect.top < innerHeight && rect.right > 0 && rect.left < innerWidth;
        element.classList.toggle("hidden", !shown);
        if (shown) Object.assign(element.style, { left: `${Math.max(0, rect.left) + 6}px`, top: `${Math.max(0, rect.top) + 6}px` });
      }
    }

    /** The chip and the host's data attributes. @param {object} figures see content/page-scan.js */
    show(figures) {
      Object.assign(this.host.dataset, {
        scanState: figures.on ? "scanning" : "stopped", found: figures.found, checked: figures.checked,
        images: figures.images, deduplicatedByUrl: figures.dedupedByUrl, deduplicatedByBytes: figures.dedupedByBytes,
        skippedTiny: figures.skippedTiny, rateLimited: figures.rateLimited, errors: figures.errors,
      });
      const text = document.createElement("span");
      text.textContent = figures.on
        ? `Checked ${figures.checked} of ${figures.found}`
        : `Scan stopped · checked ${figures.checked} of ${figures.found}`;
      text.title = "Deepfake Guard page scan";
      if (figures.on) this.chip.hidden = false;
      const button = document.createElement("button");
      button.type = "button";
      if (figures.on) {
        Object.assign(button, { className: "stop", textContent: "Stop", title: "Stop the page scan: nothing more is sent" });
        button.addEventListener("click", () => this.actions.onStop());
      } else {
        Object.assign(button, { className: "close", textContent: "×", title: "Hide" });
        button.setAttribute("aria-label", "Hide the scan status");
        button.addEventListener("click", () => { this.chip.hidden = true; });
      }
      this.chip.replaceChildren(text, document.createTextNode("·"), button);
    }
  }

  ns.ScanLayer = ScanLayer;
})();
