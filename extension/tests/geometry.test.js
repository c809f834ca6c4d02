// content/geometry.js: the picture's box inside an <img> (object-fit, object-position), face boxes on
// screen and the panel's corner. A content script is a classic script, not a module: it is run here
// as Chrome runs it, and read from the namespace object it adds itself to.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runInThisContext } from "node:vm";

const SOURCE_URL = new URL("../content/geometry.js", import.meta.url);
let geometry;

before(() => {
  runInThisContext(readFileSync(SOURCE_URL, "utf8"), { filename: SOURCE_URL.pathname });
  geometry = globalThis.deepfakeGuard.geometry;
});

const box = (left, top, width, height) => ({ left, top, width, height });
const noBorders = { borderLeftWidth: "0px", borderTopWidth: "0px", borderRightWidth: "0px", borderBottomWidth: "0px",
  paddingLeft: "0px", paddingTop: "0px", paddingRight: "0px", paddingBottom: "0px" };

describe("injected twice", () => {
  it("keeps the first copy", () => {
    const first = globalThis.deepfakeGuard.geometry;
    runInThisContext(readFileSync(SOURCE_URL, "utf8"));
    assert.equal(globalThis.deepfakeGuard.geometry, first);
  });
});

describe("contentBox", () => {
  it("takes borders and padding off each side", () => {
    const style = { ...noBorders, borderLeftWidth: "2px", paddingLeft: "3px", borderTopWidth: "1px", paddingTop: "4px",
      borderRightWidth: "2px", paddingRight: "5px", borderBottomWidth: "1px", paddingBottom: "0.5px" };
    assert.deepEqual(geometry.contentBox(box(100, 50, 200, 100), style), box(105, 55, 188, 93.5));
  });

  it("reads missing or unparsable widths as 0", () => {
    assert.deepEqual(geometry.contentBox(box(10, 20, 30, 40), { borderLeftWidth: "medium" }), box(10, 20, 30, 40));
  });

  it("never goes below zero size", () => {
    const style = { ...noBorders, paddingLeft: "20px", paddingRight: "20px", paddingTop: "10px", paddingBottom: "10px" };
    assert.deepEqual(geometry.contentBox(box(0, 0, 30, 10), style), box(20, 10, 0, 0));
  });
});

describe("pictureBox", () => {
  const content = box(100, 100, 400, 200);

  it("is the content box for fill, a missing fit or an unknown natural size", () => {
    assert.deepEqual(geometry.pictureBox(content, 800, 800), content);
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "fill"), content);
    assert.deepEqual(geometry.pictureBox(content, 800, 800, ""), content);
    assert.deepEqual(geometry.pictureBox(content, 0, 800, "contain"), content);
    assert.notEqual(geometry.pictureBox(content, 800, 800), content); // a copy
  });

  it("contain: fits inside, centred by default", () => {
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "contain"), box(200, 100, 200, 200));
  });

  it("cover: fills and overflows, centred by default", () => {
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "cover"), box(100, 0, 400, 400));
  });

  it("none: natural size; scale-down: never larger than natural", () => {
    assert.deepEqual(geometry.pictureBox(content, 100, 50, "none"), box(250, 175, 100, 50));
    assert.deepEqual(geometry.pictureBox(content, 100, 50, "scale-down"), box(250, 175, 100, 50));
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "scale-down"), box(200, 100, 200, 200));
  });

  it("follows object-position keywords, percentages and lengths", () => {
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "contain", "left top"), box(100, 100, 200, 200));
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "contain", "right bottom"), box(300, 100, 200, 200));
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "contain", "25% 0%"), box(150, 100, 200, 200));
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "cover", "center 10px"), box(100, 110, 400, 400));
    assert.deepEqual(geometry.pictureBox(content, 800, 800, "contain", "center"), box(200, 100, 200, 200));
  });
});

describe("faceRect", () => {
  const content = box(100, 100, 400, 200);
  const imageSize = { width: 800, height: 400 };

  it("scales the server's box to the picture on screen, relative to the content box", () => {
    assert.deepEqual(geometry.faceRect([80, 40, 200, 100], imageSize, content, content), box(40, 20, 100, 50));
  });

  it("clips to the content box where the picture overflows (cover)", () => {
    const picture = box(100, 0, 400, 400); // a square image covering a 400×200 box
    const rect = geometry.faceRect([0, 0, 400, 200], { width: 400, height: 400 }, picture, content);
    assert.deepEqual(rect, box(0, 0, 400, 100));
  });

  it("is null for a face entirely clipped away or without an image size", () => {
    const picture = box(100, 0, 400, 400);
    assert.equal(geometry.faceRect([0, 0, 400, 50], { width: 400, height: 400 }, picture, content), null);
    assert.equal(geometry.faceRect([0, 0, 10, 10], null, content, content), null);
    assert.equal(geometry.faceRect([0, 0, 10, 10], { width: 0, height: 10 }, content, content), null);
  });
});

describe("regionRect", () => {
  it("scales like faceRect but reaches past the image's edges", () => {
    const content = box(100, 100, 400, 200);
    const rect = geometry.regionRect([-40, -20, 880, 440], { width: 800, height: 400 }, content, content);
    assert.deepEqual(rect, box(-20, -10, 440, 220));
    assert.equal(geometry.regionRect([0, 0, 1, 1], {}, content, content), null);
  });
});

describe("panelCorner", () => {
  const content = { width: 400, height: 300 };
  const panel = { width: 150, height: 80 };

  it("takes top-left when no face is in the way", () => {
    assert.equal(geometry.panelCorner(content, panel, []), "top-left");
  });

  it("moves to the corner covering the least face area", () => {
    const topLeftFace = box(0, 0, 200, 120);
    assert.equal(geometry.panelCorner(content, panel, [topLeftFace]), "top-right");
    const topFaces = [box(0, 0, 400, 100)];
    assert.equal(geometry.panelCorner(content, panel, topFaces), "bottom-left");
    const allButBottomRight = [box(0, 0, 400, 100), box(0, 200, 200, 100)];
    assert.equal(geometry.panelCorner(content, panel, allButBottomRight), "bottom-right");
  });

  it("goes below an image too small for it, margin included", () => {
    assert.equal(geometry.panelCorner({ width: 165, height: 300 }, panel, []), "below");
    assert.equal(geometry.panelCorner({ width: 166, height: 96 }, panel, []), "top-left");
    assert.equal(geometry.panelCorner({ width: 166, height: 95 }, panel, []), "below");
  });
});
