"""Faces drive the verdict: boxes are in the upright image's pixels."""
from __future__ import annotations

from tests.images import astronaut, jpeg


def _face_box(client, auth, data):
    body = client.post("/api/v1/checks", headers=auth, data=data, content_type="image/jpeg").get_json()
    assert body["scope"] == "faces", body
    return body["faces"][0]["box"], body


def test_exif_rotation_changes_the_face_box(client, auth):
    upright_box, upright = _face_box(client, auth, jpeg(astronaut()))
    # Stored rotated 90° counter-clockwise, with EXIF orientation 6 telling viewers to turn it back.
    stored = astronaut().transpose(1, 0, 2)[::-1]  # rot90 counter-clockwise
    rotated_box, rotated = _face_box(client, auth, jpeg(stored.copy(), exif_orientation=6))
    assert (rotated["image"]["width"], rotated["image"]["height"]) == (512, 512)
    x, y, w, h = upright_box
    rx, ry, rw, rh = rotated_box
    # Same face in the same upright place, within a few pixels.
    assert abs(rx - x) <= 8 and abs(ry - y) <= 8 and abs(rw - w) <= 8 and abs(rh - h) <= 8
    # Without EXIF the face lies on its side: not found, or found elsewhere.
    plain = client.post("/api/v1/checks", headers=auth, data=jpeg(stored.copy()), content_type="image/jpeg").get_json()
    boxes = [face["box"] for face in plain["faces"]]
    assert all(abs(bx - x) > 30 or abs(by - y) > 30 for bx, by, _, _ in boxes)
