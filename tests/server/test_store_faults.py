"""The store locked or unreachable: a 503 problem that says to retry, nothing half-stored, and recovery."""
from __future__ import annotations

import os
import sqlite3
import threading

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from server import create_app
from tests.conftest import API_KEY
from tests.databases import POSTGRES_URL_VARIABLE, database
from tests.images import astronaut, coffee, jpeg


def _post(client, auth, image: bytes):
    return client.post("/api/v1/checks", data=image, content_type="image/jpeg", headers=auth)


def test_a_locked_sqlite_store_answers_503_then_recovers(app, client, auth, caplog):
    database = app.instance_path + "/deepfake-guard.sqlite3"
    assert _post(client, auth, jpeg(coffee())).status_code == 200
    locker = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the write lock past the busy timeout
    try:
        locked = _post(client, auth, jpeg(astronaut()))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert locked.status_code == 503 and locked.mimetype == "application/problem+json"
    assert locked.headers["Retry-After"] == "2"
    problem = locked.get_json()
    assert problem["type"].endswith("store-unavailable") and "again" in problem["detail"]
    assert "INSERT" not in caplog.text  # the log names the driver's error, not the statement
    recovered = _post(client, auth, jpeg(astronaut()))
    assert recovered.status_code == 200
    assert client.get(f"/api/v1/checks/{recovered.get_json()['id']}", headers=auth).status_code == 200


def test_readyz_reports_an_unreachable_store_and_recovers(app, client):
    store = app.extensions["store"]
    assert client.get("/readyz").status_code == 200
    engine_url = store.engine.url
    # The database file's directory disappears from under a running server (disk unmounted).
    store.engine.dispose()
    store.engine = create_engine("sqlite:////nonexistent-dir/dfg.sqlite3")
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.get_json()["type"].endswith("store-unavailable")
    finally:
        store.engine = create_engine(engine_url)
    assert client.get("/readyz").status_code == 200


def test_concurrent_writers_on_sqlite_wait_instead_of_failing(client, auth):
    """Eight threads check at once: SQLite's busy timeout serialises the writes; none gets a 503."""
    images = [jpeg(coffee(), quality=60 + index) for index in range(8)]
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda data=data: statuses.append(_post(client, auth, data).status_code))
               for data in images]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8


def test_postgresql_refusing_connections_answers_503_then_recovers(tmp_path, auth):
    """A real PostgreSQL database stops taking connections (and drops the open ones) mid-service."""
    with database("postgresql", tmp_path) as url:
        app = create_app({"instance_dir": tmp_path / "instance", "api_keys": [API_KEY], "database_url": url})
        client = app.test_client()
        assert _post(client, auth, jpeg(coffee())).status_code == 200
        name = make_url(url).database
        admin = create_engine(os.environ[POSTGRES_URL_VARIABLE], isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            connection.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            down = _post(client, auth, jpeg(astronaut()))
            assert down.status_code == 503 and down.get_json()["type"].endswith("store-unavailable")
            assert client.get("/readyz").status_code == 503
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        assert client.get("/readyz").status_code == 200
        recovered = _post(client, auth, jpeg(astronaut()))
        assert recovered.status_code == 200
        assert client.get(f"/api/v1/checks/{recovered.get_json()['id']}", headers=auth).status_code == 200
        app.extensions["store"].engine.dispose()
        admin.dispose()
