// A small JPEG of the checked image for "my checks", made in the worker (OffscreenCanvas), so
// the history never refers back to a URL that may be gone or need cookies.
import { blobToDataUrl } from "../lib/data-url.js";

const THUMBNAIL_SIZE = 96; // the popup shows 48 CSS px; twice that is sharp on high-DPI screens

/**
 * @param {Blob} image
 * @returns {Promise<string>} a data: URL of a JPEG at most 96 px on its longer side
 */
export async function makeThumbnail(image) {
  const bitmap = await createImageBitmap(image);
  try {
    const scale = Math.min(1, THUMBNAIL_SIZE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // transparent PNGs on white, as the server scores them
    context.fillRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0, width, height);
    return blobToDataUrl(await canvas.convertToBlob({ type: "image/jpeg", quality: 0.8 }));
  } finally {
    bitmap.close();
  }
}
