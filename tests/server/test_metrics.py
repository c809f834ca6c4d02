"""GET /metrics: stage and request histograms, cache counters and the review queue, for Prometheus."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from server import create_app
from tests.conftest import API_KEY, forced_model
from tests.images import astronaut, jpeg


def scrape(client, **kwargs) -> dict[tuple, float]:
    """Every sample as {(name, sorted labels): value}."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_check_shows_in_the_stage_histograms_and_cache_counters(client, auth):
    before = scrape(client)
    data = jpeg(astronaut())
    for _ in range(2):
        assert client.post("/api/v1/checks", headers=auth, data=data, content_type="image/jpeg").status_code == 200
    after = scrape(client)
    for stage in ("decode", "faces", "crops", "model"):  # scored once, answered from the cache once
        assert value(after, "dfg_check_stage_seconds_count", stage=stage) - \
            value(before, "dfg_check_stage_seconds_count", stage=stage) == 1, stage
        assert value(after, "dfg_check_stage_seconds_sum", stage=stage) > value(before, "dfg_check_stage_seconds_sum",
                                                                               stage=stage)
    for stage in ("cache", "store"):
        assert value(after, "dfg_check_stage_seconds_count", stage=stage) - \
            value(before, "dfg_check_stage_seconds_count", stage=stage) == 2, stage
    for result in ("hit", "miss"):
        assert value(after, "dfg_result_cache_lookups_total", result=result) - \
            value(before, "dfg_result_cache_lookups_total", result=result) == 1, result
    labels = dict(method="POST", endpoint="checks.create_check", status="200")
    assert value(after, "dfg_http_request_duration_seconds_count", **labels) - \
        value(before, "dfg_http_request_duration_seconds_count", **labels) == 2
    # a histogram has its buckets, the last one counting everything
    assert value(after, "dfg_check_stage_seconds_bucket", stage="model", le="+Inf") == \
        value(after, "dfg_check_stage_seconds_count", stage="model")


def test_the_review_queue_depth_is_read_from_the_store(tmp_path, auth):
    app = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY],
                      "model_dir": forced_model(tmp_path, band=(0.0, 1.0))})  # every verdict uncertain
    client = app.test_client()
    assert value(scrape(client), "dfg_review_queue_depth", state="queued") == 0
    for quality in (80, 90):
        client.post("/api/v1/checks", headers=auth, data=jpeg(astronaut(), quality=quality), content_type="image/jpeg")
    samples = scrape(client)
    assert value(samples, "dfg_review_queue_depth", state="queued") == 2
    assert value(samples, "dfg_review_queue_depth", state="in_review") == 0


def test_metrics_answer_loopback_only_without_a_token(client):
    response = client.get("/metrics", environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "DFG_METRICS_TOKEN" in response.get_json()["detail"]


def test_with_a_token_every_scraper_needs_it(tmp_path):
    client = create_app({"instance_dir": tmp_path / "i", "api_keys": [API_KEY],
                         "metrics_token": "scrape-secret"}).test_client()
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics").status_code == 401  # loopback too
    assert client.get("/metrics", headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 401
    scrape(client, environ_overrides=remote, headers={"Authorization": "Bearer scrape-secret"})


def test_metrics_are_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    assert "get" in spec["paths"]["/metrics"]
