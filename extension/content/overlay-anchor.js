// Keeps an overlay on its image (or video) while the page scrolls (any scroller: scroll events are caught
// in the capture phase), the window resizes, or the image itself changes size. Updates are
// batched to one per animation frame; the overlay goes away with the image.
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.follow) return;

  function measure(image) {
    const rect = image.getBoundingClientRect();
    const style = getComputedStyle(image);
    const content = ns.geometry.contentBox(rect, style);
    return {
      content,
      picture: ns.geometry.pictureBox(content, image.naturalWidth ?? image.videoWidth, image.naturalHeight ?? image.videoHeight,
        style.objectFit, style.objectPosition),
      visible: rect.width > 0 && rect.height > 0 && style.visibility !== "hidden",
    };
  }

  /**
   * @param {HTMLImageElement} image
   * @param {{place: Function, close: Function}} view
   * @returns {() => void} stops following
   */
  function follow(image, view) {
    let pending = 0;
    const update = () => {
      pending = 0;
      if (image.isConnected) view.place(measure(image));
      else view.close();
    };
    const schedule = () => {
      pending ||= requestAnimationFrame(update);
    };
    const listening = { capture: true, passive: true };
    addEventListener("scroll", schedule, listening);
    addEventListener("resize", schedule, listening);
    addEventListener("load", schedule, listening); // images loading above move this one
    const resized = new ResizeObserver(schedule);
    resized.observe(image);
    resized.observe(document.documentElement);
    update();
    return () => {
      cancelAnimationFrame(pending);
      removeEventListener("scroll", schedule, listening);
      removeEventListener("resize", schedule, listening);
      removeEventListener("load", schedule, listening);
      resized.disconnect();
    };
  }

  ns.follow = follow;
})();
