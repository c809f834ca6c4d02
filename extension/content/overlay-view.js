// The overlay on one image: progress, then the verdict with face boxes and "Disagree", or an
// error. It lives in a shadow root so the page's CSS cannot reach it. The worker sends every
// text ready-made; this file only draws it. The host element carries the state for tests and
// tools: data-deepfake-guard-state (checking | done | error), -verdict and -check.
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

  class OverlayView {
    /**
     * @param {{onClose: Function, onDispute: (label: string, comment: string) => Promise<object>,
     *          onOpenOptions: Function, onRetry: Function}} actions
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
      this.faces = h("div", { class: "faces" });
      this.panel = h("section", { class: "panel", role: "region", "aria-label": "Deepfake Guard", tabindex: "-1",
        onkeydown: (event) => this.onKey(event) });
      for (const type of CONTAINED_EVENTS) {
        this.panel.addEventListener(type, (event) => event.stopPropagation());
      }
      this.frame = h("div", { class: "frame tone-checking" }, this.outline, this.faces, this.panel);
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
      this.fill(
        this.header(h("span", { class: "icon", "aria-hidden": "true", text: ICONS[display.tone] ?? "?" }), display.label,
          h("span", { class: "percent", title: "fake probability", text: display.percentText })),
        h("p", { class: "summary", text: display.summary }),
        display.provenance && h("p", { class: `provenance provenance-${display.provenance.tone}`,
          "data-provenance": display.provenance.tone, text: display.provenance.text }),
        display.note && h("p", { class: "note", text: display.note }),
        h("div", { class: "actions" }, this.disagreeButton),
        this.reviewLine,
        h("p", { class: "muted", text: `Model ${display.modelVersion}` }));
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
        ? this.faceBoxes.map((face) => ({ face, rect: ns.geometry.faceRect(face.box, this.imageSize, geometry.picture, geometry.content) }))
          .filter(({ rect }) => rect)
        : [];
      this.faces.replaceChildren(...rects.map(({ face, rect }) => {
        const box = h("div", { class: "face", title: `Face: ${face.percentText} fake probability` }, h("span", { text: face.percentText }));
        Object.assign(box.style, { left: `${rect.left}px`, top: `${rect.top}px`, width: `${rect.width}px`, height: `${rect.height}px` });
        return box;
      }));
      this.placePanel(rects.map(({ rect }) => rect));
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
