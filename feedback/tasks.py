"""What a Label Studio task holds: the labeling config, the task data and the model's prediction.

Pure functions: no I/O. Label Studio does not validate predictions against the config (a choice
"Maybe" is accepted), so `validate_prediction` checks them here against the config itself.

The task informs without steering: the model's verdict, score and threshold are text in the
header, never a pre-ticked choice; the prediction holds only the face boxes, each with its score.
"""
from __future__ import annotations

import html
import math
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

# The image beside a column with the facts, the choices and the instructions, so the choices stay in
# view at 1400×900; under the image, where the model looked (`$heatmaps`, feedback/heatmaps.py).
# `$page_link` is an HTML snippet (a link), the only way Label Studio shows one; its HyperText tag is a
# second object tag, so images are uploaded into a separate image-store project (Label Studio refuses
# a direct file upload when a config has more than one data key).
LABEL_CONFIG = """<View>
  <Style>
    .dfg-row { display: flex; gap: 16px; align-items: flex-start; }
    .dfg-image { flex: 1 1 auto; min-width: 0; }
    .dfg-side { flex: 0 0 320px; }
    .dfg-facts * { font-size: 14px !important; line-height: 1.35 !important; margin: 2px 0 !important; }
    .dfg-help * { font-size: 12px !important; font-weight: 400 !important; line-height: 1.35 !important;
                  color: #555 !important; margin: 2px 0 !important; }
  </Style>
  <View className="dfg-row">
    <View className="dfg-image">
      <Image name="image" value="$image" zoom="true" zoomControl="true" maxHeight="640px"/>
      <HyperText name="heatmaps" value="$heatmaps" inline="true"/>
    </View>
    <View className="dfg-side">
      <Header value="$why" size="4"/>
      <Header value="$model" size="5"/>
      <View className="dfg-facts">
        <Header value="$faces_text" size="6"/>
        <HyperText name="page" value="$page_link" inline="true" clickableLinks="true"/>
        <Header value="$provenance" size="6"/>
        <Header value="$reviews" size="6"/>
      </View>
      <Choices name="label" toName="image" choice="single-radio" required="true"
               requiredMessage="Pick Real, Fake or Can't tell">
        <Choice value="Real" hotkey="1"/>
        <Choice value="Fake" hotkey="2"/>
        <Choice value="Can't tell" hotkey="3"/>
      </Choices>
      <TextArea name="comment" toName="image" editable="true" maxSubmissions="1" rows="2"
                placeholder="Comment (optional)"/>
      <View className="dfg-help">
        INSTRUCTIONS
      </View>
    </View>
  </View>
  <RectangleLabels name="faces" toName="image" showInline="true">
    <Label value="Face" background="#ff8800"/>
  </RectangleLabels>
</View>"""
# Short instructions, shown under the choices (what counts as fake here, when to pick "Can't tell").
INSTRUCTIONS = (
    "Fake: a face or the image was made or changed by a generator, a face swap or an edit of the face. "
    "Real: a photo of a real scene; crops, filters and compression do not make it fake.",
    "Can't tell: only when zooming in does not settle it. Another reviewer then looks; after a few answers "
    "without a majority the image is closed undecided and never used for training.",
)
LABEL_CONFIG = LABEL_CONFIG.replace("INSTRUCTIONS", "\n        ".join(
    f'<Header size="6" value="{html.escape(line, quote=True)}"/>' for line in INSTRUCTIONS))

VERDICT_WORDS = {"fake": "FAKE", "real": "REAL", "uncertain": "CAN'T TELL"}
IMAGE_TYPES = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"),
               "GIF": ("gif", "image/gif"), "BMP": ("bmp", "image/bmp"), "TIFF": ("tif", "image/tiff")}
VOTE_WORDS = {"real": "Real", "fake": "Fake", "cant_tell": "Can't tell"}


@dataclass(frozen=True)
class ModelRule:
    """How the model that made the check turns its score into a verdict (from its metadata)."""

    threshold: float
    uncertain_band: tuple[float, float]


@dataclass(frozen=True)
class ReviewProgress:
    """The answers an item has so far and the most it may get."""

    counts: Mapping[str, int]
    reviewers: int
    undecided: bool
    max_reviews: int
    label: str | None = None      # the resolved label: the review is over
    second_opinion: bool = False  # the answers so far go against a confident model: one more must agree

    @property
    def wants_another(self) -> bool:
        """Answered ("Can't tell" or a tie) but unresolved, with reviews left: someone else should look."""
        return self.label is None and not self.undecided and 0 < self.reviewers < self.max_reviews

    def text(self) -> str:
        if self.reviewers == 0 or self.label is not None:
            return ""
        answers = ", ".join(f"{self.counts.get(vote, 0)} {word}" for vote, word in VOTE_WORDS.items()
                            if self.counts.get(vote))
        if self.undecided:
            return f"Closed undecided after {self.reviewers} answers ({answers}): no label, not used for training."
        if self.second_opinion:
            return (f"Needs a second reviewer: {self.reviewers} answer{'s' if self.reviewers > 1 else ''} so far "
                    f"({answers}) against what the model was confident of; such a label counts when two reviewers "
                    f"agree. Review {self.reviewers + 1} of at most {self.max_reviews}.")
        return (f"Needs another reviewer: {self.reviewers} answer{'s' if self.reviewers > 1 else ''} so far "
                f"({answers}) and no majority; review {self.reviewers + 1} of at most {self.max_reviews}.")


@dataclass(frozen=True)
class Prediction:
    """What a check said: its verdict and score, the model and rule behind them, and what decided the verdict
    ("model", or "declared": the image's own metadata declares generative AI)."""
    verdict: str
    fake_probability: float
    model_version: str
    decided_by: str = "model"
    faces: Sequence[Mapping] = ()
    scope: str = "faces"
    rule: ModelRule | None = None
    provenance: Mapping | None = None


@dataclass(frozen=True)
class VideoFrame:
    """A checked frame of a video: its time in seconds, and the frames checked with it (time, fake score),
    this one included, in time order."""
    time: float
    frames: Sequence[tuple[float, float]] = ()


def clock(seconds: float, tenths: bool = False) -> str:
    """A time in a video as people read it: 01:23, or 1:02:03 past an hour; with `tenths`, 01:23.4 (frames
    half a second apart). The extension writes times the same way (lib/present.js `clock`)."""
    tenth_count = math.floor(seconds * 10 + 0.5) if tenths else int(seconds) * 10
    whole = tenth_count // 10
    hours, minutes, rest = whole // 3600, whole // 60 % 60, whole % 60
    text = f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes:02d}:{rest:02d}"
    return f"{text}.{tenth_count % 10}" if tenths else text


def _page_name(page_url: str | None) -> str:
    """A page in a few words: its host and path (no query), or "an unknown page"."""
    parsed = urlsplit(page_url or "")
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return "an unknown page"
    name = parsed.netloc + (parsed.path if parsed.path != "/" else "")
    return name if len(name) <= 60 else name[:57] + "…"


@dataclass(frozen=True)
class ReviewRequest:
    """Why an image is in review ("disputed", with the user's label and comment, or "uncertain"), where it
    was seen, and the reviews so far."""
    queued_for: str
    user_label: str | None = None
    user_comment: str | None = None
    page_url: str | None = None
    source_url: str | None = None
    progress: ReviewProgress | None = None
    video: VideoFrame | None = None

    @property
    def subject(self) -> str:
        """What is reviewed: "this image", or "the video frame at 01:23 of example.org/watch"."""
        if self.video is None:
            return "this image"
        return f"the video frame at {clock(self.video.time)} of {_page_name(self.page_url)}"


def model_sentence(prediction: Prediction) -> str:
    """The model's verdict in words, with the score and the threshold that explain it."""
    model_version, rule = prediction.model_version, prediction.rule
    score = f"fake score {prediction.fake_probability:.2f}"
    if prediction.decided_by == "declared":
        return f"Verdict FAKE: the image's own metadata declares it AI-generated (model {model_version}: {score})"
    if rule is not None:
        low, high = rule.uncertain_band
        if prediction.verdict == "uncertain":
            score += f", inside its uncertain band {low:.2f}–{high:.2f}"
        elif prediction.verdict == "fake":
            score += f", at or above its threshold {rule.threshold:.2f}"
        else:
            score += f", below its threshold {rule.threshold:.2f}"
    where = " (no face found: scored as a whole image)" if prediction.scope == "no_face" else ""
    return f"Model {model_version} says {VERDICT_WORDS.get(prediction.verdict, prediction.verdict.upper())}: {score}{where}"


def _page_link(page_url: str | None) -> str:
    if page_url and page_url.lower().startswith(("https://", "http://")):
        url = html.escape(page_url, quote=True)
        shown = html.escape(page_url if len(page_url) <= 80 else page_url[:77] + "…")
        return f'Page: <a href="{url}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    return "Page: not known (the image was uploaded, not checked on a page)"


def _video_lines(request: ReviewRequest, fake_probability: float) -> tuple[str, str]:
    """A video frame's facts: (plain text for the data manager, HTML for the task's page-link block)."""
    video = request.video
    at = clock(video.time)
    frames = [(time, score, time == video.time) for time, score in video.frames]
    if not any(this for *_, this in frames):
        frames = sorted([*frames, (video.time, fake_probability, True)])
    listed = [f"{clock(time, tenths=True)} {score:.2f}{' (this one)' if this else ''}" for time, score, this in frames]
    text = f"Video frame at {at}" + (f"; frames checked (time, fake score): {' · '.join(listed)}" if len(frames) > 1 else "")
    link = f"Video frame at {at}"
    if request.source_url and request.source_url.lower().startswith(("https://", "http://")):
        url = html.escape(f"{request.source_url.split('#')[0]}#t={video.time:g}", quote=True)
        link += f': <a href="{url}" target="_blank" rel="noopener noreferrer">open the video at {at}</a>'
    if len(frames) > 1:
        link += "<br>Frames checked (time, fake score): " + " · ".join(
            f"<b>{html.escape(item)}</b>" if this else html.escape(item) for item, (*_, this) in zip(listed, frames))
    return text, link


def task_fields(ext_id: str, check_id: str, prediction: Prediction, request: ReviewRequest) -> dict:
    """The task data we own (everything but `image`). The reviewer-facing fields come first: Label
    Studio's data manager lists the columns in this order."""
    prediction = replace(prediction, fake_probability=round(float(prediction.fake_probability), 4))
    if request.queued_for == "disputed":
        why = f"Disputed: the user says {request.subject} is {(request.user_label or '?').upper()}"
        why += f' — "{request.user_comment}"' if request.user_comment else ""
    else:
        why = "Uncertain: the model could not decide" + ("" if request.video is None else f" on {request.subject}")
    face_scores = [round(float(face.get("fake_probability", 0.0)), 4) for face in prediction.faces]
    faces_text = ("Faces (boxes, fake score each): "
                  + " · ".join(f"{index + 1}: {score:.2f}" for index, score in enumerate(face_scores))
                  if face_scores else "No face found")
    rule = prediction.rule
    page_link = _page_link(request.page_url)
    video = {}
    if request.video is not None:
        video["video"], video_link = _video_lines(request, prediction.fake_probability)
        page_link += "<br>" + video_link
    return {"why": why, "model": model_sentence(prediction),
            "user_label": request.user_label or "", "user_comment": request.user_comment or "",
            "fake_probability": prediction.fake_probability, "model_verdict": prediction.verdict,
            "threshold": round(rule.threshold, 4) if rule else None, "model_version": prediction.model_version,
            "page_url": request.page_url or "", "reviews": request.progress.text() if request.progress else "",
            "provenance": (prediction.provenance or {}).get("summary") or "", "faces_text": faces_text,
            "face_scores": face_scores, "page_link": page_link, **video,
            "source_url": request.source_url or "", "reason": request.queued_for, "check_id": check_id,
            "ext_id": ext_id}


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


def prediction(fake_probability: float, faces: Sequence[Mapping], width: int, height: int) -> tuple[list[dict], float]:
    """The model's answer as a pre-annotation: the face boxes, each scored; never a choice.

    Returns:
        (result, score): score is the model's fake probability for the image, the number the
        header calls "fake score" (Label Studio shows it as the prediction score).
    """
    result = []
    for index, face in enumerate(faces):
        value = _percent_box(face["box"], width, height)
        if value is None:
            continue
        result.append({"id": f"face{index}", "from_name": "faces", "to_name": "image", "type": "rectanglelabels",
                       "original_width": width, "original_height": height, "image_rotation": 0,
                       "score": round(float(face.get("fake_probability", 0.0)), 4),
                       "value": {**value, "rectanglelabels": ["Face"]}})
    return result, round(float(fake_probability), 4)


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
