// "Check this video frame": which <video> was clicked, and its frames as pictures. A frame is drawn
// onto a canvas at the video's own size; a cross-origin video taints the canvas, and then the worker
// captures the visible tab and cuts out the video's picture (the overlays hidden meanwhile). Several
// frames are taken at a fixed spacing: as a playing video plays on, or by stepping a paused one
// around the current time (and back) where the page lets it seek. Uses find-image.js's helpers.
(() => {
  const ns = (globalThis.deepfakeGuard ??= {});
  if (ns.captureVideoFrames) return;

  const FRAME_SPACING_S = 0.5;      // between frames; also above Chrome's two tab captures a second
  const SEEK_TIMEOUT_MS = 3000;
  const MAX_SIDE = 1920;             // a 4K frame is scaled to this on its longer side
  const HAVE_CURRENT_DATA = 2;

  const shows = (video, srcUrl) => video.currentSrc === srcUrl || video.src === srcUrl;

  /** The clicked video: the one showing `srcUrl` (the one under the pointer among several), else the
   * video under the pointer, else the largest in view (a video with no source URL of its own). */
  function findVideo(srcUrl) {
    const videos = [...document.querySelectorAll("video")];
    const showing = srcUrl ? videos.filter((video) => shows(video, srcUrl)) : [];
    return ns.likeliestClicked(showing.length ? showing : videos);
  }

  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
  const nextPaint = () => new Promise((resolve) => { requestAnimationFrame(() => requestAnimationFrame(resolve)); });

  /**
   * The frame on the canvas, as a PNG data: URL; null when the video taints the canvas (cross-origin).
   * At the video's own size, or at the size it is shown at where that is larger (a small video shown
   * large: the face finder then sees faces as big as the user does), at most 1920 px on the longer side.
   */
  async function drawnFrame(video) {
    const shown = pictureOnScreen(video).width * (devicePixelRatio || 1) / video.videoWidth;
    const scale = Math.min(Math.max(1, shown), MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    try {
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
      return blob ? ns.blobToDataUrl(blob) : null;
    } catch {
      return null; // SecurityError: the canvas is tainted
    }
  }

  /** Where the video's picture is on screen, in viewport CSS pixels (object-fit applied). */
  function pictureOnScreen(video) {
    const style = getComputedStyle(video);
    const content = ns.geometry.contentBox(video.getBoundingClientRect(), style);
    return ns.geometry.pictureBox(content, video.videoWidth, video.videoHeight, style.objectFit, style.objectPosition);
  }

  /** The frame as the screen shows it: the worker captures the tab and cuts the picture out. */
  async function capturedFrame(video) {
    if (window !== window.top) {
      return { error: "video-unreadable", reason: "the video is in a frame of another site" };
    }
    const picture = pictureOnScreen(video);
    const left = Math.max(0, picture.left);
    const top = Math.max(0, picture.top);
    const right = Math.min(innerWidth, picture.left + picture.width);
    const bottom = Math.min(innerHeight, picture.top + picture.height);
    if (right - left < picture.width * 0.9 || bottom - top < picture.height * 0.9) {
      return { error: "video-out-of-view" };
    }
    const overlays = [...document.querySelectorAll("deepfake-guard-overlay")];
    overlays.forEach((host) => host.style.setProperty("visibility", "hidden", "important"));
    try {
      await nextPaint();
      const answer = await chrome.runtime.sendMessage({ type: "capture-tab",
        region: { left, top, width: right - left, height: bottom - top },
        viewport: { width: innerWidth, height: innerHeight } }).catch(() => null);
      return answer?.dataUrl ? { dataUrl: answer.dataUrl }
        : { error: "video-unreadable", reason: answer?.reason ?? "the browser did not capture the tab" };
    } finally {
      overlays.forEach((host) => host.style.removeProperty("visibility"));
    }
  }

  async function frameNow(video) {
    const time = video.currentTime;
    const drawn = await drawnFrame(video);
    if (drawn) return { time, dataUrl: drawn, via: "canvas" };
    const captured = await capturedFrame(video);
    return captured.dataUrl ? { time, dataUrl: captured.dataUrl, via: "tab" } : captured;
  }

  /** Seek to `time` and wait for the frame; false when the page does not let the video seek there. */
  async function seek(video, time) {
    if (Math.abs(video.currentTime - time) < 0.001) return true;
    const seekable = [...Array(video.seekable.length).keys()]
      .some((i) => video.seekable.start(i) <= time && time <= video.seekable.end(i));
    if (!seekable) return false;
    const seeked = new Promise((resolve) => {
      video.addEventListener("seeked", () => resolve(true), { once: true });
      setTimeout(() => resolve(false), SEEK_TIMEOUT_MS);
    });
    video.currentTime = time;
    return (await seeked) && video.readyState >= HAVE_CURRENT_DATA;
  }

  /** Times around `now`, `spacing` apart, inside the video: now first, then after and before in turn. */
  function timesAround(now, count, spacing, duration) {
    const end = Number.isFinite(duration) ? duration - 0.05 : Infinity;
    const times = [now];
    for (let step = 1; times.length < count && step <= count; step += 1) {
      for (const time of [now + step * spacing, now - step * spacing]) {
        if (times.length < count && time >= 0 && time <= end) times.push(time);
      }
    }
    return times;
  }

  /**
   * @param {HTMLVideoElement|null} video
   * @param {number} count frames wanted (1..8)
   * @returns {Promise<object>} {frames: [{time, dataUrl, via}], playing, stepped} or
   *   {error, reason?} (video-gone | video-not-ready | video-unreadable | video-out-of-view)
   */
  async function captureVideoFrames(video, count) {
    if (!video?.isConnected) return { error: "video-gone" };
    if (video.readyState < HAVE_CURRENT_DATA || !video.videoWidth) return { error: "video-not-ready" };
    const playing = !video.paused && !video.ended;
    const frames = [];
    let stepped = count > 1 && !playing;
    let failure = null;
    const take = async () => {
      const frame = await frameNow(video);
      if (frame.error) failure = frame;
      else frames.push(frame);
      return !frame.error;
    };
    if (playing || count === 1) {
      for (let index = 0; index < count; index += 1) {
        if (index > 0) await sleep(FRAME_SPACING_S * 1000);
        if (!video.isConnected || (playing && (video.paused || video.ended)) || !(await take())) break;
      }
    } else {
      const start = video.currentTime;
      for (const time of timesAround(start, count, FRAME_SPACING_S, video.duration)) {
        if (!video.isConnected) break;
        if (!(await seek(video, time))) {
          stepped = false;
          break;
        }
        if (!(await take())) break;
      }
      if (video.isConnected) await seek(video, start); // leave the video where the user paused it
      frames.sort((a, b) => a.time - b.time);
    }
    if (frames.length === 0) return failure ?? { error: video.isConnected ? "video-not-ready" : "video-gone" };
    return { frames, playing, stepped: stepped && frames.length > 1 };
  }

  ns.findVideo = findVideo;
  ns.captureVideoFrames = captureVideoFrames;
})();
