"""Provenance in the check answer: a declaration of generative AI decides the verdict (reason "declared"),
an invalid manifest never helps, and the stored check, the result cache and GET keep all of it."""
from __future__ import annotations

import pytest

from tests.provenance_files import c2pa_signed, fixture, jpeg_with_xmp, xmp_packet


def _post(client, auth, data: bytes) -> dict:
    response = client.post("/api/v1/checks", headers=auth, data=data, content_type="application/octet-stream")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("make", [lambda: c2pa_signed("PNG"), lambda: c2pa_signed("WEBP"),
                                  lambda: jpeg_with_xmp(xmp_packet("trainedAlgorithmicMedia"))])
def test_declared_ai_makes_the_verdict_fake_and_keeps_the_model_score(client, auth, make):
    data = make()
    answer = _post(client, auth, data)
    assert answer["verdict"] == "fake" and answer["reason"] == "declared"
    assert answer["provenance"]["declared_ai"] and "AI" in answer["provenance"]["summary"]
    assert 0 <= answer["fake_probability"] <= 1 and answer["faces"]          # the model still ran
    again = _post(client, auth, data)                                        # from the result cache
    assert again["cached"] and again["reason"] == "declared" and again["provenance"] == answer["provenance"]
    stored = client.get(f"/api/v1/checks/{answer['id']}", headers=auth).get_json()
    assert stored["reason"] == "declared" and stored["provenance"] == answer["provenance"]


@pytest.mark.parametrize("name", ["XCA.jpg", "E-sig-CA.jpg"])
def test_an_invalid_manifest_is_reported_and_the_model_decides(client, auth, name):
    answer = _post(client, auth, fixture(name))
    assert answer["reason"] == "model" and answer["verdict"] in ("fake", "real", "uncertain")
    assert answer["provenance"]["changed_after_signing"] and "INVALID" in answer["provenance"]["summary"]
    assert answer["provenance"]["c2pa"]["state"] == "invalid"


def test_without_metadata_the_answer_says_so(client, auth):
    answer = _post(client, auth, fixture("A.jpg"))
    assert answer["reason"] == "model"
    assert answer["provenance"]["items"] == [] and answer["provenance"]["summary"] is None
    assert answer["provenance"]["c2pa"] is None and not answer["provenance"]["declared_ai"]


def test_algorithmic_media_is_not_called_fake(client, auth):
    answer = _post(client, auth, c2pa_signed("PNG", "algorithmicMedia"))
    assert answer["reason"] == "model" and "not necessarily AI" in answer["provenance"]["summary"]
