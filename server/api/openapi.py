"""`/openapi.json`: the HTTP contract, written down once for clients and tests."""
from __future__ import annotations

from flask import Blueprint

from core.outcomes import WEBHOOK_SECRET_HEADER
from server.api.disputes import DisputeRequest

bp = Blueprint("openapi", __name__)

_PROBLEM = {"$ref": "#/components/schemas/Problem"}


# the dispute's schema is the one the endpoint validates with
_DISPUTE = DisputeRequest.model_json_schema()


def _problems(*statuses: int) -> dict:
    return {str(status): {"description": "Problem details (RFC 9457)",
                          "content": {"application/problem+json": {"schema": _PROBLEM}}}
            for status in statuses}


_BOX = {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 4, "maxItems": 4,
        "description": "x, y, width, height in pixels of the upright image"}

_PROVENANCE = {
    "type": "object", "required": ["declared_ai", "changed_after_signing", "summary", "c2pa", "items"],
    "description": "What the image's own metadata declares (core/provenance.py); read offline, never fetched.",
    "properties": {
        "declared_ai": {"type": "boolean", "description": "a valid C2PA manifest or XMP declares generative AI"},
        "changed_after_signing": {"type": "boolean", "description": "a C2PA manifest no longer matches the image"},
        "summary": {"type": ["string", "null"], "description": "the one line to show a person"},
        "c2pa": {"type": ["object", "null"], "description": "the active manifest: state (valid, invalid, remote, "
                                                            "unreadable), codes, issuer, claim_generator, actions, "
                                                            "digital_source_types, ingredients, remote_url"},
        "items": {"type": "array", "items": {
            "type": "object", "required": ["source", "kind", "text"],
            "properties": {"source": {"enum": ["c2pa", "xmp", "png-text", "exif", "metadata"]},
                           "kind": {"type": "string"}, "text": {"type": "string"}}}},
        "elapsed_ms": {"type": "number", "minimum": 0},
    },
}

_HEATMAP = {
    "type": "object", "required": ["method", "size", "region", "values", "peak_drop"],
    "description": "Where the served model looked (core/explain.py): the share of the face's fake score each "
                   "cell of its crop square held, by occlusion; scaled to its peak (1)",
    "properties": {
        "method": {"enum": ["occlusion"]},
        "size": {"type": "integer", "minimum": 1, "description": "cells per side"},
        "region": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4,
                   "description": "x, y, width, height of the square the map covers, in pixels of the upright "
                                  "image (it may reach past the image's edges, as the served crop does)"},
        "values": {"type": "array", "items": {"type": "array", "items": {"type": "number", "minimum": 0,
                                                                         "maximum": 1}},
                   "description": "size rows of size values, top to bottom, left to right"},
        "peak_drop": {"type": "number", "minimum": 0, "maximum": 1,
                      "description": "the largest fall of the fake probability when one patch was hidden"},
    },
}

EXPLANATION = {
    "type": "object", "required": ["method", "model_version", "scope", "legend", "elapsed_ms", "faces"],
    "properties": {
        "method": {"enum": ["occlusion"]},
        "model_version": {"type": "string"},
        "scope": {"enum": ["faces", "no_face"]},
        "legend": {"type": "string", "description": "one line to show beside the map"},
        "elapsed_ms": {"type": "number", "minimum": 0},
        "check_id": {"type": "string", "description": "GET only"},
        "faces": {"type": "array", "items": {
            "type": "object", "required": ["index", "box", "fake_probability", "heatmap"],
            "properties": {"index": {"type": ["integer", "null"],
                                     "description": "the face's index in the check's faces (null: the whole "
                                                    "image of a check without a face)"},
                           "box": _BOX, "fake_probability": {"type": "number", "minimum": 0, "maximum": 1},
                           "heatmap": _HEATMAP}}},
    },
}

CHECK = {
    "type": "object",
    "required": ["id", "verdict", "fake_probability", "faces", "scope", "model_version", "image", "cached",
                 "elapsed_ms"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "verdict": {"type": "string", "enum": ["fake", "real", "uncertain"]},
        "fake_probability": {"type": "number", "minimum": 0, "maximum": 1},
        "faces": {"type": "array", "items": {
            "type": "object", "required": ["box", "fake_probability"],
            "properties": {"box": _BOX, "fake_probability": {"type": "number", "minimum": 0, "maximum": 1}}}},
        "scope": {"type": "string", "enum": ["faces", "no_face"]},
        "model_version": {"type": "string"},
        "image": {"type": "object", "required": ["sha256", "width", "height", "format"], "properties": {
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "width": {"type": "integer", "minimum": 1}, "height": {"type": "integer", "minimum": 1},
            "format": {"type": "string"}}},
        "cached": {"type": "boolean"},
        "elapsed_ms": {"type": "number", "minimum": 0},
        "created_at": {"type": "string", "format": "date-time"},
        "page_url": {"type": ["string", "null"]},
        "source_url": {"type": ["string", "null"]},
        "video": {"type": ["object", "null"], "description": "a video frame's place: null for an image",
                  "properties": {"time": {"type": "number", "minimum": 0, "description": "seconds into the video"},
                                 "group": {"type": ["string", "null"],
                                           "description": "the client's id shared by the frames of one video check"}}},
        "note": {"type": "string", "description": "present when scope is no_face"},
        "reason": {"enum": ["model", "declared"],
                   "description": "what decided the verdict: the model, or metadata that declares generative AI "
                                  "(a valid C2PA manifest or IPTC DigitalSourceType in XMP); the model's "
                                  "fake_probability stays in the answer either way"},
        "provenance": _PROVENANCE,
        "explanation": {"$ref": "#/components/schemas/Explanation",
                        "description": "POST with explain=true only"},
        "dispute": {"type": ["object", "null"], "description": "GET only: your dispute of this check",
                    "properties": {"id": {"type": "string"}, "label": {"enum": ["real", "fake"]},
                                   "comment": {"type": ["string", "null"]},
                                   "status": {"enum": ["queued", "in_review", "relabeled", "undecided"]},
                                   "created_at": {"type": "string", "format": "date-time"}}},
        "review": {"type": ["object", "null"], "description": "GET only: the human review of this image",
                   "properties": {
                       "status": {"enum": ["queued", "in_review", "relabeled", "undecided"]},
                       "label": {"type": ["string", "null"], "enum": ["real", "fake", None],
                                 "description": "what reviewers agreed on (majority of Real vs Fake)"},
                       "reason": {"enum": ["disputed", "uncertain"]},
                       "reviewers": {"type": "integer", "minimum": 0},
                       "used_in_model": {"type": ["string", "null"],
                                         "description": "the model version trained on this label that became "
                                                        "the champion (deepfake-guard retrain), else null"},
                       "resolved_at": {"type": ["string", "null"], "format": "date-time"}}},
    },
}

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Deepfake Guard API", "version": "1",
             "description": "Self-hosted deepfake check. Authenticate with `Authorization: Bearer <key>`."},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "metricsToken": {"type": "http", "scheme": "bearer",
                                             "description": "DFG_METRICS_TOKEN, not an API key"},
                            "webhookSecret": {"type": "apiKey", "in": "header", "name": WEBHOOK_SECRET_HEADER}},
        "schemas": {
            "Check": CHECK,
            "Explanation": EXPLANATION,
            "Problem": {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "instance": {"type": ["string", "null"]}}},
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/checks": {"post": {
            "summary": "Check an image for signs of manipulation",
            "requestBody": {"required": True, "content": {
                "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "page_url": {"type": "string", "maxLength": 2048},
                    "source_url": {"type": "string", "maxLength": 2048, "description":
                                   "where the image came from (for a video frame, the video's URL)"},
                    "video_time": {"type": "number", "minimum": 0, "description":
                                   "a video frame: its time in the video, in seconds"},
                    "video_group": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$", "description":
                                    "a video frame: one id for all frames of one video check"}}}},
                "image/*": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object", "required": ["url"], "properties": {
                    "url": {"type": "string", "maxLength": 2048, "description":
                            "http(s) URL of the image; the server fetches it from public addresses only "
                            "(DFG_FETCH_ALLOW_HOSTS excepted), at most 3 redirects, each re-checked"},
                    "page_url": {"type": "string", "maxLength": 2048}}}}}},
            "parameters": [
                {"name": "page_url", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "with a raw image body: the page the image was on"},
                {"name": "source_url", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "with a raw image body: where the image came from"},
                {"name": "explain", "in": "query", "required": False, "schema": {"enum": ["true", "false"]},
                 "description": "true: add heatmaps of where the model looked (`explanation`); each face "
                                "costs 50 scorings of its crop (a third of a second on 2 cores)"}],
            "responses": {"200": {"description": "The verdict",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Check"}}}},
                          **_problems(401, 413, 415, 422, 429, 503)}}},
        "/api/v1/checks/{check_id}": {"get": {
            "summary": "Read a check made with your key",
            "parameters": [{"name": "check_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The check",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Check"}}}},
                          **_problems(401, 404, 429, 503)}}},
        "/api/v1/checks/{check_id}/explanation": {"get": {
            "summary": "Heatmaps of where the model looked, for a check made with your key",
            "description": "From the image the server kept (DFG_IMAGE_RETENTION_HOURS) and the model that made the "
                           "check. 409 image-not-kept or model-changed: check the image again with explain=true.",
            "parameters": [{"name": "check_id", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "face", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 0},
                            "description": "one face (its index in the check's faces); all when left out"}],
            "responses": {"200": {"description": "The heatmaps", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Explanation"}}}},
                          **_problems(401, 404, 409, 422, 429, 503)}}},
        "/api/v1/checks/{check_id}/disputes": {"post": {
            "summary": "Say the verdict is wrong: stored durably (with the image) and queued for review",
            "description": "A repeat by the same key updates the same dispute. 409 image-not-kept: the server no "
                           "longer holds the checked image; send the same fields as multipart with the image.",
            "parameters": [{"name": "check_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _DISPUTE},
                "multipart/form-data": {"schema": {**_DISPUTE, "properties": {
                    **_DISPUTE["properties"], "image": {"type": "string", "format": "binary"}}}}}},
            "responses": {"202": {"description": "Stored and queued", "content": {"application/json": {"schema": {
                "type": "object", "required": ["id", "status", "check_id"], "properties": {
                    "id": {"type": "string"}, "status": {"type": "string"}, "check_id": {"type": "string"},
                    "review": {"type": "object"}}}}}},
                          **_problems(401, 404, 409, 413, 415, 422, 429, 503)}}},
        "/api/v1/model": {"get": {
            "summary": "The model that answers checks now (the registry's champion, else the shipped default): "
                       "version, source, threshold, uncertain band, metrics, robustness",
            "responses": {"200": {"description": "Model information",
                                  "content": {"application/json": {"schema": {"type": "object", "required": [
                                      "version", "threshold", "uncertain_band", "input_size"]}}}},
                          **_problems(401)}}},
        "/api/v1/enrollments": {"post": {
            "summary": "Redeem a one-time enrolment code (`deepfake-guard keys enroll`) for a per-person API key",
            "description": "No key needed: the code is the credential. Each code works once and expires. The "
                           "key is shown in this answer only.",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["code"],
                "properties": {"code": {"type": "string", "pattern": "^dfge_", "maxLength": 200}}}}}},
            "responses": {"201": {"description": "The new key",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["api_key", "key_id", "name"],
                                      "properties": {"api_key": {"type": "string"}, "key_id": {"type": "string"},
                                                     "name": {"type": "string"}}}}}},
                          **_problems(404, 410, 422, 429)}}},
        "/api/v1/labelstudio/webhook": {"post": {
            "summary": "Label Studio annotation events (ANNOTATION_CREATED/UPDATED, ANNOTATIONS_DELETED)",
            "description": "Called by Label Studio, not by clients: authenticated by the shared secret in the "
                           f"{WEBHOOK_SECRET_HEADER} header (DFG_LABEL_STUDIO_WEBHOOK_SECRET), registered by "
                           "`deepfake-guard labelstudio setup`. Refused (503) when no secret is configured.",
            "security": [{"webhookSecret": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string"},
                    "annotation": {"type": "object", "required": ["id"], "properties": {
                        "id": {"type": "integer"}, "result": {"type": "array"},
                        "was_cancelled": {"type": "boolean"}}},
                    "task": {"type": "object", "required": ["id", "data"], "properties": {
                        "id": {"type": "integer"},
                        "data": {"type": "object", "properties": {"ext_id": {"type": "string"}}}}},
                    "annotations": {"type": "array", "items": {"type": "object", "required": ["id"]}}}}}}},
            "responses": {"200": {"description": "Applied, or ignored (an action or task that is not ours)",
                                  "content": {"application/json": {"schema": {"type": "object", "required": [
                                      "status"], "properties": {"status": {"enum": ["applied", "ignored"]}}}}}},
                          **_problems(401, 415, 422, 503)}}},
        "/healthz": {"get": {"summary": "The process is alive", "security": [],
                             "responses": {"200": {"description": "alive"}}}},
        "/readyz": {"get": {
            "summary": "The model is loaded and the store reachable",
            "description": "200 while checks can be answered. status is 'degraded' when the object store, the shared "
                           "rate-limit store or the champion model is not as it should be; degraded names each.",
            "security": [],
            "responses": {"200": {"description": "ready or degraded", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status", "model_version"],
                "properties": {"status": {"enum": ["ready", "degraded"]}, "model_version": {"type": "string"},
                               "degraded": {"type": "object", "properties": {
                                   "blob_store": {"type": "string"}, "rate_limits": {"type": "string"},
                                   "model": {"type": "string"}}}}}}}},
                          **_problems(503)}}},
        "/metrics": {"get": {
            "summary": "Prometheus metrics of every worker",
            "description": "Text exposition: dfg_check_stage_seconds{stage=cache|provenance|decode|faces|crops|model|"
                           "store|explain}, "
                           "dfg_http_request_duration_seconds{method,endpoint,status}, "
                           "dfg_result_cache_lookups_total{result=hit|miss}, dfg_checks_total{verdict,scope}, "
                           "dfg_review_queue_depth{state=queued|in_review}. With DFG_METRICS_TOKEN set, send it "
                           "as a Bearer token; without it only loopback clients are answered (403 otherwise).",
            "security": [{"metricsToken": []}, {}],
            "responses": {"200": {"description": "Prometheus text format",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}},
                          **_problems(401, 403)}}},
        "/openapi.json": {"get": {"summary": "This document", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
}


@bp.get("/openapi.json")
def openapi_json():
    return SPEC
