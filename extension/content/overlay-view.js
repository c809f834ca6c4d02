// The overlay on one image: progress, then the verdict with face boxes, "Why?" (the server's
// heatmap of where the model looked) and "Disagree", or an error. It lives in a shadow root so the page's CSS cannot reach it. The worker sends every
// text ready-made; this file only draws it. The host element carries the state for tests and
// tools: data-deepfake-guard-state (checking | done | error), -verdict, -check and -explain
// (loading | error | the explained face's index | image).
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.OverlayView) return;

  const ICONS = { fake: "!", real: "✓", uncertain: "?", error: "!" };
  // Page shortcuts (e.g. "k" to pause a video) must not fire while the user types in the overlay.
  const CONTAINED_EVENTS = ["keydown", "keyup", "keypress", "mousedown", "mouseup", "click", "dblclick", "contextmenu"];

  /** A DOM element: props are attributes, except class, text and on<event> handlers. */
  function h(tag, props = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") element.className = value;
      else if (name === "text") element.textContent = value;
      else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
      else element.setAttribute(name, value === true ? "" : String(value));
    }
    element.append(...children.filter(Boolean));
    return element;
  }

  const HEATMAP_PIXELS = 128; // the cells are smoothed onto a canvas this size (a browser scales a tiny one blocky)

  /** A heatmap's cells as a canvas: transparent where nothing, red to yellow as a region mattered more. */
  function heatmapCanvas({ size, values }) {
    const cells = document.createElement("canvas");
    cells.width = cells.height = size;
    const cellContext = cells.getContext("2d");
    const image = cellContext.createImageData(size, size);
    values.flat().forEach((value, cell) => {
      const v = Math.max(0, Math.min(1, Number(value) || 0));
      image.data.set([255, Math.round(40 + 215 * v * v), Math.round(40 * (1 - v)), v < 0.08 ? 0 : Math.round(60 + 140 * v)],
        cell * 4);
    });
    cellContext.putImageData(image, 0, 0);
    const canvas = h("canvas", { class: "heatmap", width: HEATMAP_PIXELS, height: HEATMAP_PIXELS, "aria-hidden": "true",
      "data-cells": size });
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(cells, 0, 0, HEATMAP_PIXELS, HEATMAP_PIXELS);
    return canvas;
  }

  class OverlayView {
    /**
     * @param {{onClose: Function, onDispute: (label: string, comment: string) => Promise<object>,
     *          onExplain: (face: number|null) => Promise<object>, onOpenOptions: Function,
     *          onRetry: Function}} actions
     */
    constructor(actions) {
      this.actions = actions;
      this.faceBoxes = [];
      this.imageSize = null;
      this.geometry = null;
      this.host = h("deepfake-guard-overlay", { "data-deepfake-guard-state": "checking" });
      // The host is in the page's DOM: pin what page CSS could change about it.
      this.host.style.cssText = "all: initial !important; position: fixed !important; left: 0 !important;"
        + " top: 0 !important; width: 0 !important; height: 0 !important; z-index: 2147483647 !important;";
      const shadow = this.host.attachShadow({ mode: "open" });
      this.outline = h("div", { class: "outline" });
      this.heat = h("div", { class: "heat" });
      this.faces = h("div", { class: "faces" });
      this.panel = h("section", { class: "panel", role: "region", "aria-label": "Deepfake Guard", tabindex: "-1",
        onkeydown: (event) => this.onKey(event) });
      for (const type of CONTAINED_EVENTS) {
        this.panel.addEventListener(type, (event) => event.stopPropagation());
      }
      this.frame = h("div", { class: "frame tone-checking" }, this.outline, this.heat, this.faces, this.panel);
      shadow.append(h("style", { text: ns.overlayCss }), this.frame);
      document.documentElement.append(this.host);
      this.showProgress("Checking the image…");
      this.panel.focus({ preventScroll: true });
    }

    /** Follow the image: its content box and painted picture in viewport coordinates. */
    place(geometry) {
      this.geometry = geometry;
      this.frame.classList.toggle("hidden", !geometry.visible);
      const { left, top, width, height } = geometry.content;
      Object.assign(this.frame.style, { left: `${left}px`, top: `${top}px`, width: `${width}px`, height: `${height}px` });
      this.drawFaces();
    }

    /** No image element to anchor to: a card in the viewport's top-right corner. */
    float() {
      this.frame.classList.add("floating");
      this.outline.remove();
    }

    /** Replace the panel's content; absent parts (null, false, undefined) are skipped. */
    fill(...parts) {
      this.panel.replaceChildren(...parts.filter(Boolean));
      this.drawFaces();
    }

    setTone(tone) {
      this.frame.className = this.frame.className.replace(/\btone-\S+/, `tone-${tone}`);
    }

    header(icon, label, extra) {
      return h("header", {}, icon, h("span", { class: "label", text: label }), extra,
        h("button", { class: "close", type: "button", "aria-label": "Close Deepfake Guard", title: "Close (Esc)",
          text: "×", onclick: () => this.close() }));
    }

    showProgress(text) {
      if (this.host.dataset.deepfakeGuardState !== "checking") return;
      this.fill(this.header(h("span", { class: "spinner", "aria-hidden": "true" }), "Deepfake Guard"),
        h("p", { class: "progress", role: "status", text }));
    }

    /** @param {{checkId: string, verdict: string, display: object}} result from the worker */
    showResult({ checkId, verdict, display }) {
      this.checkId = checkId;
      this.verdict = verdict;
      Object.assign(this.host.dataset, { deepfakeGuardState: "done", deepfakeGuardVerdict: verdict, deepfakeGuardCheck: checkId });
      this.setTone(display.tone);
      this.faceBoxes = display.faces;
      this.imageSize = display.imageSize;
      this.disagreeButton = h("button", { class: "disagree", type: "button", "aria-expanded": "false",
        text: "Disagree", onclick: () => this.openDispute() });
      this.reviewLine = h("p", { class: "review", role: "status", text: display.reviewText ?? "" });
      this.reviewLine.hidden = !display.reviewText;
      this.legend = h("p", { class: "explain-legend", role: "status" });
      this.legend.hidden = true;
      this.fill(
        this.header(h("span", { class: "icon", "aria-hidden": "true", text: ICONS[display.tone] ?? "?" }), display.label,
          h("span", { class: "percent", title: "fake probability", text: display.percentText })),
        h("p", { class: "summary", text: display.summary }),
        ...this.videoLines(display.video),
        display.provenance && h("p", { class: `provenance provenance-${display.provenance.tone}`,
          "data-provenance": display.provenance.tone, text: display.provenance.text }),
        display.note && h("p", { class: "note", text: display.note }),
        h("div", { class: "actions" }, this.disagreeButton,
          display.faces.length === 0 && h("button", { class: "why why-image", type: "button", "aria-pressed": "false",
            title: "Where the model looked in the whole image", text: "Why?", onclick: () => this.explain(null) })),
        this.legend,
        this.reviewLine,
        h("p", { class: "muted", text: `Model ${display.modelVersion}` }));
    }

    /** A video check's lines: the frame shown, the frames checked (each with its check id), what went short. */
    videoLines(video) {
      if (!video) return [];
      const frames = video.frames.length > 0 && h("ol", { class: "frames", "aria-label": "Frames checked" },
        ...video.frames.map((frame) => h("li", { class: frame.shown ? "shown" : null, "data-check": frame.checkId,
          "data-verdict": frame.verdict, title: frame.shown ? "The frame shown" : null,
          text: `${frame.time} ${frame.percentText}` })));
      return [h("p", { class: "video-line", text: video.line }), frames,
        ...video.notes.map((note) => h("p", { class: "video-note", text: note }))];
    }

    /** @param {{title: string, message: string, detail?: string, action?: string}} error */
    showError(error) {
      Object.assign(this.host.dataset, { deepfakeGuardState: "error", deepfakeGuardError: error.kind ?? "unexpected" });
      this.setTone("error");
      this.fill(
        this.header(h("span", { class: "icon", "aria-hidden": "true", text: ICONS.error }), error.title),
        h("p", { class: "message", role: "alert", text: error.message }),
        error.detail && h("p", { class: "detail", text: error.detail }),
        h("div", { class: "actions" },
          h("button", { type: "button", class: "retry", text: "Try again", onclick: () => this.actions.onRetry() }),
          error.action === "options"
            && h("button", { type: "button", class: "open-options", text: "Open options", onclick: () => this.actions.onOpenOptions() })));
    }

    drawFaces() {
      const geometry = this.geometry;
      if (!geometry) return;
      const rects = this.imageSize
        ? this.faceBoxes.map((face, index) => ({ face, index,
          rect: ns.geometry.faceRect(face.box, this.imageSize, geometry.picture, geometry.content) }))
          .filter(({ rect }) => rect)
        : [];
      this.faces.replaceChildren(...rects.map(({ face, index, rect }) => {
        const shown = this.explained?.index === index;
        const box = h("div", { class: "face", title: `Face: ${face.percentText} fake probability` },
          h("span", { text: face.percentText }),
          h("button", { class: "why", type: "button", "aria-pressed": String(shown), "data-face": index,
            title: "Where the model looked in this face", text: "Why?", onclick: () => this.explain(index) }));
        Object.assign(box.style, { left: `${rect.left}px`, top: `${rect.top}px`, width: `${rect.width}px`, height: `${rect.height}px` });
        return box;
      }));
      this.drawHeatmap();
      this.placePanel(rects.map(({ rect }) => rect));
    }

    /** "Why?": ask for the heatmap of one face (its index) or of the whole image (null); again hides it. */
    async explain(index) {
      if (this.explained?.index === index) {
        this.hideHeatmap();
        return;
      }
      this.explained = { index, heatmap: null };
      this.host.dataset.deepfakeGuardExplain = "loading";
      this.legend.textContent = "Asking the server where the model looked…";
      this.legend.hidden = false;
      this.drawFaces();
      const answer = await this.actions.onExplain(index).catch(() => null);
      if (this.explained?.index !== index || !this.host.isConnected) return; // hidden or replaced meanwhile
      if (!answer?.ok) {
        this.explained = null;
        this.host.dataset.deepfakeGuardExplain = "error";
        const error = answer?.error;
        this.legend.textContent = error ? `${error.title}: ${error.message}` : "The explanation could not be loaded.";
        this.drawFaces();
        return;
      }
      this.explained = { index, heatmap: answer.face.heatmap };
      this.host.dataset.deepfakeGuardExplain = index === null ? "image" : String(index);
      const which = index === null ? "the whole image" : this.faceBoxes.length > 1 ? `face ${index + 1}` : "the face";
      this.legend.textContent = `Why, for ${which}: ${answer.legend}`;
      this.drawFaces();
    }

    hideHeatmap() {
      this.explained = null;
      delete this.host.dataset.deepfakeGuardExplain;
      this.legend.hidden = true;
      this.drawFaces();
    }

    /** The explained heatmap over its square, smoothly scaled from its cells, clipped to the image. */
    drawHeatmap() {
      const heatmap = this.explained?.heatmap;
      if (!heatmap || !this.geometry) {
        this.heat.replaceChildren();
        return;
      }
      const rect = ns.geometry.regionRect(heatmap.region, this.imageSize, this.geometry.picture, this.geometry.content);
      if (!rect) return;
      if (this.heatCanvas?.heatmap !== heatmap) {
        this.heatCanvas = { heatmap, element: heatmapCanvas(heatmap) };
      }
      const canvas = this.heatCanvas.element;
      Object.assign(canvas.style, { left: `${rect.left}px`, top: `${rect.top}px`, width: `${rect.width}px`, height: `${rect.height}px` });
      this.heat.replaceChildren(canvas);
    }

    // The panel moves to the corner that hides the least of the faces; not while the user fills in
    // the dispute form, which must not jump away from under the pointer.
    placePanel(faceRects) {
      if (this.form || !this.geometry?.visible) return;
      const panel = { width: this.panel.offsetWidth, height: this.panel.offsetHeight };
      const corner = ns.geometry.panelCorner(this.geometry.content, panel, faceRects);
      this.panel.className = `panel corner-${corner}`;
    }

    openDispute() {
      if (this.form) {
        this.form.querySelector("input").focus();
        return;
      }
      // Suggest the opposite of the verdict; for "uncertain" the user must choose.
      const suggested = { fake: "real", real: "fake" }[this.verdict];
      const choice = (value, text) => h("label", { class: "choice" },
        h("input", { type: "radio", name: "label", value, checked: value === suggested }), text);
      this.formError = h("p", { class: "form-error", role: "alert" });
      this.formError.hidden = true;
      this.form = h("form", { class: "dispute", onsubmit: (event) => { event.preventDefault(); this.sendDispute(); } },
        h("fieldset", {}, h("legend", { text: "What is this image really?" }),
          choice("real", "It is real"), choice("fake", "It is fake")),
        h("label", { class: "comment" }, "Comment (optional)",
          h("textarea", { name: "comment", rows: "2", maxlength: "2000", placeholder: "What makes you think so?" })),
        this.formError,
        h("div", { class: "actions" },
          h("button", { type: "submit", class: "primary send", text: "Send" }),
          h("button", { type: "button", class: "cancel", text: "Cancel", onclick: () => this.closeDispute() })));
      this.disagreeButton.setAttribute("aria-expanded", "true");
      this.disagreeButton.parentElement.after(this.form); // below the button row, full width
      (this.form.querySelector("input:checked") ?? this.form.querySelector("input")).focus();
    }

    closeDispute() {
      this.form?.remove();
      this.form = null;
      this.disagreeButton.setAttribute("aria-expanded", "false");
      this.disagreeButton.focus();
    }

    async sendDispute() {
      const label = this.form.elements.label.value;
      if (!label) {
        this.formError.textContent = "Choose “It is real” or “It is fake”.";
        this.formError.hidden = false;
        return;
      }
      const controls = [...this.form.elements];
      controls.forEach((control) => { control.disabled = true; });
      this.form.querySelector(".send").textContent = "Sending…";
      const answer = await this.actions.onDispute(label, this.form.elements.comment.value).catch(() => null);
      if (answer?.ok) {
        this.form.remove();
        this.form = null;
        this.disagreeButton.parentElement.remove();
        this.host.dataset.deepfakeGuardDispute = label;
        this.reviewLine.textContent = answer.reviewText;
        this.reviewLine.hidden = false;
        this.panel.focus({ preventScroll: true });
        return;
      }
      controls.forEach((control) => { control.disabled = false; });
      this.form.querySelector(".send").textContent = "Send";
      const error = answer?.error;
      this.formError.textContent = error ? `${error.title}: ${error.message}` : "The dispute could not be sent. Try again.";
      this.formError.hidden = false;
    }

    onKey(event) {
      if (event.key !== "Escape") return;
      event.preventDefault();
      if (this.form) this.closeDispute();
      else this.close();
    }

    close() {
      if (!this.host.isConnected) return;
      this.host.remove();
      this.actions.onClose();
    }
  }

  ns.OverlayView = OverlayView;
})();
