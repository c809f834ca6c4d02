"""gunicorn settings for `deepfake-guard serve` and `gunicorn 'server:create_app()'`.

Read from DFG_* variables through the same Settings object as the app.
"""
from server.settings import Settings

_settings = Settings()

bind = "127.0.0.1:8000"
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
# Each worker loads its own model: forking a loaded ONNX Runtime session is not safe.
preload_app = False
accesslog = "-"
errorlog = "-"
# Never log query strings or headers: they may carry keys.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
