"""The `deepfake-guard` command: one group over the commands of server/, models/ and feedback/.

It sits above every package, so no package imports another's command line. Each command imports
what it needs when it runs: `--help` loads no TensorFlow.
"""
from __future__ import annotations

import click

from feedback.cli import labelstudio, sync, worker
from feedback.retrain_cli import retrain
from models.cli import evaluate, train
from models.detector_cli import recalibrate, train_detector
from models.head_cli import add_landmark_head
from models.registry_cli import models_group
from server.cli import serve
from server.db_cli import db
from server.extension_cli import extension
from server.keys_cli import keys


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Deepfake Guard: a self-hosted deepfake check for the browser."""


for command in (serve, keys, db, extension, train, train_detector, recalibrate, evaluate, add_landmark_head,
                models_group, labelstudio, sync, worker, retrain):
    main.add_command(command)
