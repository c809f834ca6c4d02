// The overlay's stylesheet. It lives in a string, not a .css file, because a file would have to
// be web-accessible for the page's shadow root to load it — and then any site could probe for it.
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.overlayCss) return;

  ns.overlayCss = `
:host { all: initial; }
* { box-sizing: border-box; }
.frame {
  position: fixed; pointer-events: none;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1b1f24; text-align: left; letter-spacing: normal;
}
.frame.hidden { display: none; }
.frame.floating { top: 16px !important; right: 16px; left: auto !important; width: 0; height: 0; }
.frame.floating .panel { left: auto; right: 0; top: 0; }
.tone-checking { --tone: #1565c0; --tone-text: #0d47a1; --tone-soft: #e3f2fd; --on-tone: #fff; }
.tone-fake { --tone: #c62828; --tone-text: #b71c1c; --tone-soft: #fdecea; --on-tone: #fff; }
.tone-real { --tone: #2e7d32; --tone-text: #1b5e20; --tone-soft: #e8f5e9; --on-tone: #fff; }
.tone-uncertain { --tone: #f9a825; --tone-text: #7a5600; --tone-soft: #fff8e1; --on-tone: #1b1f24; }
.tone-error { --tone: #455a64; --tone-text: #263238; --tone-soft: #eceff1; --on-tone: #fff; }
.outline { position: absolute; inset: 0; border: 3px solid var(--tone); border-radius: 3px; }
.tone-checking .outline, .tone-error .outline { border-width: 2px; opacity: .6; }
.tone-uncertain .outline { border-style: dashed; }
.face { position: absolute; border: 2px solid var(--tone); border-radius: 3px;
  box-shadow: 0 0 0 1px rgba(255, 255, 255, .85), inset 0 0 0 1px rgba(255, 255, 255, .85); }
.tone-uncertain .face { border-style: dashed; }
.face span { position: absolute; left: -2px; bottom: 100%; padding: 0 5px; border-radius: 3px 3px 0 0;
  background: var(--tone); color: var(--on-tone); font-size: 11px; font-weight: 600; white-space: nowrap; }
.face .why { position: absolute; right: -2px; bottom: 100%; pointer-events: auto; padding: 0 6px;
  border-radius: 3px 3px 0 0; border: none; background: #fff; color: var(--tone-text); font-size: 11px;
  font-weight: 600; line-height: 16px; box-shadow: 0 0 0 1px var(--tone); }
.face .why[aria-pressed="true"] { background: var(--tone); color: var(--on-tone); }
.heat { position: absolute; inset: 0; overflow: hidden; }
.heatmap { position: absolute; image-rendering: auto; }
.explain-legend { font-size: 12px; color: #37474f; }
.explain-legend::before { content: ""; display: inline-block; width: 44px; height: 8px; margin-right: 6px;
  border-radius: 2px; vertical-align: middle; background: linear-gradient(90deg, rgba(255, 60, 40, .35), #ff2828, #ffff00); }
.panel {
  position: absolute; left: 8px; top: 8px; width: max-content; min-width: 230px; max-width: 330px;
  pointer-events: auto; background: #fff; border-radius: 10px; padding: 10px 12px;
  border-left: 6px solid var(--tone); box-shadow: 0 4px 18px rgba(0, 0, 0, .3);
}
.panel.corner-top-right { left: auto; right: 8px; }
.panel.corner-bottom-left { top: auto; bottom: 8px; }
.panel.corner-bottom-right { top: auto; bottom: 8px; left: auto; right: 8px; }
.panel.corner-below { top: calc(100% + 8px); left: 0; }
.tone-uncertain .panel { background: var(--tone-soft); border: 2px dashed var(--tone); border-left-width: 6px; }
.panel:focus { outline: none; } /* focused only to start keyboard navigation; its buttons show focus */
header { display: flex; align-items: center; gap: 8px; }
.icon { flex: none; width: 24px; height: 24px; border-radius: 50%; display: grid; place-items: center;
  background: var(--tone); color: var(--on-tone); font-weight: 700; font-size: 14px; }
.tone-uncertain .icon { border-radius: 6px; }
.label { flex: 1; font-weight: 700; font-size: 15px; color: var(--tone-text); }
.percent { font-weight: 700; font-size: 20px; color: var(--tone-text); font-variant-numeric: tabular-nums; }
.spinner { flex: none; width: 20px; height: 20px; border-radius: 50%;
  border: 3px solid var(--tone-soft); border-top-color: var(--tone); animation: spin .8s linear infinite; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation-duration: 3s; } }
p { margin: 6px 0 0; }
.note { padding: 4px 6px; border-radius: 6px; background: #fff3cd; font-size: 12px; }
.provenance { padding: 4px 6px; border-radius: 6px; font-size: 12px; background: #eceff1; color: #263238; }
.provenance::before { content: "ⓘ "; }
.provenance-declared { background: #fdecea; color: #b71c1c; border: 1px solid #c62828; font-weight: 600; }
.provenance-declared::before { content: "⚑ "; }
.provenance-changed { background: #fff3cd; color: #7a5600; border: 1px dashed #b28704; }
.provenance-changed::before { content: "⚠ "; }
.detail { color: #455a64; font-size: 12px; }
.review { font-weight: 600; color: #0d47a1; }
.muted { color: #607d8b; font-size: 11px; }
.video-line { font-weight: 600; }
.frames { margin: 2px 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 4px; font-size: 12px; }
.frames li { padding: 1px 5px; border-radius: 4px; background: #eceff1; font-variant-numeric: tabular-nums; }
.frames li.shown { background: #263238; color: #fff; }
.video-note { font-size: 12px; color: #455a64; }
.actions { display: flex; gap: 6px; margin-top: 8px; }
button { font: inherit; color: #1b1f24; cursor: pointer; border-radius: 6px; border: 1px solid #90a4ae;
  background: #fff; padding: 3px 10px; }
button:hover { background: #f5f7f8; }
button.primary { background: #1565c0; border-color: #1565c0; color: #fff; }
button[disabled] { opacity: .6; cursor: default; }
.close { margin-left: 2px; padding: 0 7px; border: none; background: transparent; font-size: 18px; line-height: 24px; }
button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #1565c0; outline-offset: 1px; }
form { margin-top: 8px; padding-top: 8px; border-top: 1px solid #cfd8dc; }
fieldset { border: none; margin: 0; padding: 0; display: flex; gap: 12px; flex-wrap: wrap; }
legend { padding: 0; margin-bottom: 4px; font-weight: 600; }
label.choice { display: inline-flex; align-items: center; gap: 4px; cursor: pointer; }
label.comment { display: block; margin-top: 6px; font-size: 12px; color: #455a64; }
textarea { display: block; width: 100%; margin-top: 2px; font: inherit; color: inherit; resize: vertical;
  border: 1px solid #90a4ae; border-radius: 6px; padding: 4px 6px; background: #fff; }
.form-error { color: #b71c1c; font-size: 12px; }
`;
})();
