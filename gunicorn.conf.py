"""Lets `gunicorn 'server:create_app()'` run from the repository root with the project's settings."""
from server.gunicorn_conf import *  # noqa: F401,F403
