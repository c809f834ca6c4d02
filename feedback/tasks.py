"""What a Label Studio task holds: the labeling config, the task data and the model's prediction.

Pure functions: no I/O. Label Studio does not validate predictions against the config (a choice
"Maybe" is accepted), so `validate_prediction` checks them here against the config itself.
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence

# `$image` must stay the only object-tag data key: Label Studio refuses a direct file upload (400)
# when the config has more. Header is not an object tag, so `$why` can show why the task is there.
LABEL_CONFIG = """<View>
  <Header value="$why"/>
  <Image name="image" value="$image" zoom="true"/>
  <Choices name="label" toName="image" choice="single" showInline="true" required="true">
    <Choice value="Real"/>
    <Choice value="Fake"/>
    <Choice value="Can't tell"/>
  </Choices>
  <RectangleLabels name="faces" toName="image">
    <Label value="Face" background="#ff8800"/>
  </RectangleLabels>
  <TextArea name="comment" toName="image" editable="true" maxSubmissions="1" placeholder="Comment (optional)"/>
</View>"""

VERDICT_CHOICES = {"fake": "Fake", "real": "Real", "uncertain": "Can't tell"}
IMAGE_TYPES = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"),
               "GIF": ("gif", "image/gif"), "BMP": ("bmp", "image/bmp"), "TIFF": ("tif", "image/tiff")}
# Our keys in the task data besides `image`; a re-send compares exactly these.
FIELDS = ("ext_id", "check_id", "reason", "why", "user_label", "user_comment", "model_version", "fake_probability")


def task_fields(ext_id: str, check_id: str, reason: str, model_version: str, fake_probability: float,
                user_label: str | None = None, user_comment: str | None = None) -> dict:
    """The task data we own (everything but `image`), including a one-line `why` for reviewers."""
    probability = round(float(fake_probability), 4)
    if reason == "disputed":
        why = f"Disputed: the user says this image is {(user_label or '?').upper()}"
        why += f' — "{user_comment}"' if user_comment else ""
        why += f" (model: fake probability {probability:.2f})"
    else:
        why = f"Uncertain: the model could not decide (fake probability {probability:.2f})"
    return {"ext_id": ext_id, "check_id": check_id, "reason": reason, "why": why,
            "user_label": user_label or "", "user_comment": user_comment or "",
            "model_version": model_version, "fake_probability": probability}


def fields_differ(task_data: Mapping, fields: Mapping) -> bool:
    return any(task_data.get(key) != value for key, value in fields.items())


def upload_name(ext_id: str, image_format: str) -> tuple[str, str]:
    """File name (carrying the ext_id, so an upload can be traced) and content type for an image."""
    extension, content_type = IMAGE_TYPES.get(image_format.upper(), ("bin", "application/octet-stream"))
    return f"{ext_id}.{extension}", content_type


def _percent_box(box: Sequence[float], width: int, height: int) -> dict | None:
    """A pixel box (x, y, w, h) clipped to the image, in Label Studio's 0–100 percent coordinates."""
    x, y, w, h = (float(v) for v in box)
    left, top = max(0.0, x), max(0.0, y)
    right, bottom = min(float(width), x + w), min(float(height), y + h)
    if right <= left or bottom <= top:
        return None
    return {"x": 100 * left / width, "y": 100 * top / height, "width": 100 * (right - left) / width,
            "height": 100 * (bottom - top) / height, "rotation": 0}


def prediction(verdict: str, fake_probability: float, faces: Sequence[Mapping], width: int,
               height: int) -> tuple[list[dict], float]:
    """The model's answer as a pre-annotation: the verdict's choice and the face boxes.

    Returns:
        (result, score): score is the model's confidence in the chosen answer (for "Can't tell",
        how close the probability is to 0.5).
    """
    choice = VERDICT_CHOICES[verdict]
    probability = float(fake_probability)
    score = {"Fake": probability, "Real": 1 - probability}.get(choice, 1 - abs(2 * probability - 1))
    result = [{"id": "verdict", "from_name": "label", "to_name": "image", "type": "choices",
               "value": {"choices": [choice]}}]
    for index, face in enumerate(faces):
        value = _percent_box(face["box"], width, height)
        if value is None:
            continue
        result.append({"id": f"face{index}", "from_name": "faces", "to_name": "image", "type": "rectanglelabels",
                       "original_width": width, "original_height": height, "image_rotation": 0,
                       "value": {**value, "rectanglelabels": ["Face"]}})
    return result, round(score, 4)


def config_controls(label_config: str = LABEL_CONFIG) -> dict[str, tuple[str, str, frozenset[str]]]:
    """Control tags of a labeling config: name → (result type, toName, allowed values)."""
    root = ElementTree.fromstring(label_config)
    controls = {}
    for tag, kind, child in (("Choices", "choices", "Choice"), ("RectangleLabels", "rectanglelabels", "Label")):
        for element in root.iter(tag):
            values = frozenset(option.get("value", "") for option in element.iter(child))
            controls[element.get("name", "")] = (kind, element.get("toName", ""), values)
    return controls


def validate_prediction(result: Sequence[Mapping], label_config: str = LABEL_CONFIG) -> None:
    """Raise ValueError unless every region fits the labeling config (names, values, 0–100 boxes)."""
    controls = config_controls(label_config)
    for region in result:
        name = region.get("from_name")
        if name not in controls:
            raise ValueError(f"prediction region from '{name}': the labeling config has no such control")
        kind, to_name, allowed = controls[name]
        if region.get("type") != kind or region.get("to_name") != to_name:
            raise ValueError(f"prediction region '{name}' must be type '{kind}' on '{to_name}'")
        value = region.get("value") or {}
        chosen = value.get(kind)
        if not isinstance(chosen, list) or len(chosen) != 1 or chosen[0] not in allowed:
            raise ValueError(f"prediction region '{name}': {chosen!r} is not one of {sorted(allowed)}")
        if kind == "rectanglelabels":
            numbers = [value.get(key) for key in ("x", "y", "width", "height")]
            if not all(isinstance(n, (int, float)) and math.isfinite(n) for n in numbers):
                raise ValueError(f"prediction box {numbers} has non-numeric coordinates")
            x, y, w, h = numbers
            if min(x, y) < 0 or w <= 0 or h <= 0 or x + w > 100 + 1e-6 or y + h > 100 + 1e-6:
                raise ValueError(f"prediction box {numbers} is outside the image (percent 0–100)")
