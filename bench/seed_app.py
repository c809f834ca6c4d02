"""The seed's way of serving, behind a minimal Flask route: what the benchmark compares against.

As the seed's Streamlit app did: decode with PIL, resize the whole image to 256×256 (no face
detection), `model.predict` on the Keras model, per image. Same weights as the server
(`models/default/model.keras`, loaded with `models.training.architectures.load_keras`).

    gunicorn --workers 1 --bind 127.0.0.1:8001 'bench.seed_app:create_app()'
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from flask import Flask, request
from PIL import Image

INPUT_SIZE = 256


def create_app(model_path: str | None = None) -> Flask:
    import models
    from models.training.architectures import load_keras

    model = load_keras(Path(model_path or os.environ.get("SEED_MODEL") or models.DEFAULT_MODEL_DIR / "model.keras"))
    app = Flask(__name__)

    @app.post("/predict")
    def predict():
        image = Image.open(io.BytesIO(request.get_data())).convert("RGB").resize((INPUT_SIZE, INPUT_SIZE))
        batch = np.asarray(image, dtype=np.float32)[None]
        fake_probability = float(model.predict(batch, verbose=0)[0, 0])
        return {"fake_probability": fake_probability}

    @app.get("/ready")
    def ready():
        return {"status": "ready"}

    return app
