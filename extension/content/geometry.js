// Where the picture is drawn inside an <img>, and where the server's face boxes fall on screen.
// Pure functions of rectangles and computed-style strings.
// Content scripts cannot be ES modules: each file of the overlay adds itself to one namespace
// object in the extension's isolated world (invisible to the page's own scripts).
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.geometry) {
    return; // injected again into a frame that already has it
  }

  const px = (value) => parseFloat(value) || 0;

  /** The <img>'s content box in viewport coordinates: its border box less borders and padding. */
  function contentBox(rect, style) {
    const left = px(style.borderLeftWidth) + px(style.paddingLeft);
    const top = px(style.borderTopWidth) + px(style.paddingTop);
    const right = px(style.borderRightWidth) + px(style.paddingRight);
    const bottom = px(style.borderBottomWidth) + px(style.paddingBottom);
    return {
      left: rect.left + left, top: rect.top + top,
      width: Math.max(0, rect.width - left - right), height: Math.max(0, rect.height - top - bottom),
    };
  }

  // One coordinate of CSS object-position ("30%", "12px", "center"…): the picture's offset.
  function offset(token, free) {
    if (!token || token === "center") return free / 2;
    if (token === "left" || token === "top") return 0;
    if (token === "right" || token === "bottom") return free;
    if (token.endsWith("%")) return (free * parseFloat(token)) / 100;
    return px(token);
  }

  /**
   * The rectangle the picture is painted in, after object-fit and object-position; with `cover` it
   * is larger than the content box (the rest is clipped).
   */
  function pictureBox(content, naturalWidth, naturalHeight, objectFit = "fill", objectPosition = "50% 50%") {
    if (!naturalWidth || !naturalHeight || objectFit === "fill" || !objectFit) {
      return { ...content };
    }
    const fitScale = Math.min(content.width / naturalWidth, content.height / naturalHeight);
    const scale = {
      contain: fitScale,
      cover: Math.max(content.width / naturalWidth, content.height / naturalHeight),
      none: 1,
      "scale-down": Math.min(1, fitScale),
    }[objectFit] ?? 1;
    const width = naturalWidth * scale;
    const height = naturalHeight * scale;
    const [x, y] = String(objectPosition).split(/\s+/);
    return {
      left: content.left + offset(x, content.width - width),
      top: content.top + offset(y, content.height - height),
      width, height,
    };
  }

  /**
   * A face box from the server (pixels of the image it received) on screen, relative to the
   * content box and clipped to it; null when nothing of it is visible.
   * @param {number[]} box [x, y, w, h] in image pixels
   * @param {{width: number, height: number}} imageSize the image's size as the server measured it
   */
  function faceRect(box, imageSize, picture, content) {
    if (!imageSize?.width || !imageSize?.height) return null;
    const sx = picture.width / imageSize.width;
    const sy = picture.height / imageSize.height;
    const [x, y, w, h] = box;
    const left = Math.max(picture.left + x * sx, content.left);
    const top = Math.max(picture.top + y * sy, content.top);
    const right = Math.min(picture.left + (x + w) * sx, content.left + content.width);
    const bottom = Math.min(picture.top + (y + h) * sy, content.top + content.height);
    if (right <= left || bottom <= top) return null;
    return { left: left - content.left, top: top - content.top, width: right - left, height: bottom - top };
  }

  /**
   * Like faceRect, not clipped to the image: where a heatmap's square goes (it may reach past the
   * image's edges, as the server's crop does), relative to the content box.
   */
  function regionRect(box, imageSize, picture, content) {
    if (!imageSize?.width || !imageSize?.height) return null;
    const sx = picture.width / imageSize.width;
    const sy = picture.height / imageSize.height;
    const [x, y, w, h] = box;
    return { left: picture.left + x * sx - content.left, top: picture.top + y * sy - content.top,
      width: w * sx, height: h * sy };
  }

  const CORNERS = ["top-left", "top-right", "bottom-left", "bottom-right"];

  function overlap(a, b) {
    const width = Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left);
    const height = Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top);
    return Math.max(0, width) * Math.max(0, height);
  }

  /**
   * Where the result panel goes so it hides as little of the faces as possible: the inside corner
   * that covers the least face area (ties go to the first of top-left, top-right, bottom-left,
   * bottom-right), or "below" the image when the panel does not fit inside it.
   * @param {{width: number, height: number}} content the image's content box
   * @param {{width: number, height: number}} panel
   * @param {Array<{left, top, width, height}>} faces face rectangles relative to the content box
   */
  function panelCorner(content, panel, faces, margin = 8) {
    if (panel.width + 2 * margin > content.width || panel.height + 2 * margin > content.height) {
      return "below";
    }
    let best = CORNERS[0];
    let bestCovered = Infinity;
    for (const corner of CORNERS) {
      const place = {
        left: corner.endsWith("left") ? margin : content.width - margin - panel.width,
        top: corner.startsWith("top") ? margin : content.height - margin - panel.height,
        width: panel.width, height: panel.height,
      };
      const covered = faces.reduce((sum, face) => sum + overlap(place, face), 0);
      if (covered < bestCovered) {
        best = corner;
        bestCovered = covered;
      }
    }
    return best;
  }

  ns.geometry = { contentBox, pictureBox, faceRect, regionRect, panelCorner };
})();
