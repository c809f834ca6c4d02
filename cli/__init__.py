"""The `deepfake-guard` command: one group over every command, one module per group of commands.

A command parses its options, calls library code in core/, server/, models/ or feedback/, and prints;
nothing imports this package. Each command imports what it needs when it runs: `--help` loads no TensorFlow.
"""
from __future__ import annotations

import click

from cli import db, detector, extension, finetune, keys, landmark_head, models, retrain, review, serve, train


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Deepfake Guard: a self-hosted deepfake check for the browser."""


for command in (serve.serve, keys.keys, db.db, extension.extension, train.train, detector.train_detector,
                detector.recalibrate, train.evaluate, landmark_head.add_landmark_head, models.models_group,
                review.labelstudio, review.sync, review.worker, review.review, retrain.retrain, finetune.finetune_faceres,
                finetune.export_faceres):
    main.add_command(command)
