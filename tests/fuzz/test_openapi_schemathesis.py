"""schemathesis against /openapi.json: generated requests for every operation, zero server errors."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from server import create_app
from tests.conftest import API_KEY

CASES = {"count": 0}


def _app():
    import tempfile

    app = create_app({"instance_dir": tempfile.mkdtemp(prefix="dfg-schemathesis-"), "api_keys": [API_KEY],
                      "rate_limit_per_key": "", "rate_limit_per_address": "",
                      "label_studio_webhook_secret": "schemathesis-secret"})
    # Generated {"url": ...} bodies never reach a resolver or an outside address: every name
    # "resolves" to a documentation address, which the fetcher refuses as non-public.
    app.extensions["fetcher"].resolver = lambda host, port: ["192.0.2.1"]
    return app


schema = schemathesis.openapi.from_wsgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    CASES["count"] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {API_KEY}"}, checks=[not_a_server_error])


@pytest.fixture(scope="module", autouse=True)
def cases_were_run(request):
    """After the module's tests, in any order: when the generated tests ran, they ran cases."""
    yield
    selected = [item for item in request.session.items
                if item.module is request.module and item.originalname == "test_no_server_errors"]
    print(f"schemathesis cases run: {CASES['count']} over {len(selected)} operations")
    assert not selected or CASES["count"] >= len(selected), "schemathesis generated no cases"
