"""The floor: the serving runtime's own inference time, with no HTTP, no decoding, no faces.

`ort`: ONNX Runtime on one preprocessed 1×256×256×3 face crop of the served `model.onnx`.
`pipeline`: the server's detector in this process on an already decoded image (faces in LiteRT,
crops, ONNX Runtime), to show how much of our time is the face detector and how much HTTP and
the store. Each runs as 1 or 2 concurrent streams (threads; both runtimes release the GIL).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import onnxruntime as ort

from bench.load import Burst


def ort_session(model_path: str, threads: int, batch: int = 1) -> Callable[[], int]:
    """One inference of `batch` crops per call, configured as core/served_model.py does.

    The callable returns how many images it scored (micro-batching is judged per image)."""
    from bench.inputs import face_jpegs
    from core.crops import crop_face
    from core.intake import decode_image

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    rgb = decode_image(face_jpegs()[0], 50_000_000).rgb
    crops = np.repeat(crop_face(rgb, (40, 50, 170, 170))[None].astype(np.float32), batch, axis=0)

    def call() -> int:
        session.run(None, {name: crops})
        return batch
    return call


def pipeline_call(model_dir: str, threads: int, data: bytes) -> Callable[[], None]:
    """Checker.assess on an image decoded once: faces, crops and the classifier."""
    from core.check import Checker
    from core.faces import FaceDetector
    from core.intake import decode_image
    from core.served_model import ServedModel
    from core.settings import Settings

    settings = Settings(runtime_threads=threads)
    detector = Checker(ServedModel(model_dir, threads=threads),
                        FaceDetector(num_threads=threads, min_score=settings.face_min_score), settings.max_faces)
    image = decode_image(data, 50_000_000)
    return lambda: detector.check(image)


def run_streams(calls: list[Callable[[], object]], seconds: float, warmup: float) -> Burst:
    """Call each callable in its own thread, back to back, for warmup + seconds; measure the window.

    A callable that returns an int scored that many images: each of them waited the whole call."""
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    results = [Burst() for _ in calls]

    def stream(call: Callable[[], None], result: Burst) -> None:
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                return
            images = call()
            done = time.perf_counter()
            if measure_from <= done <= stop_at:
                result.latencies += [done - began] * (images if isinstance(images, int) else 1)

    threads = [threading.Thread(target=stream, args=pair, daemon=True) for pair in zip(calls, results)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Burst()
    for result in results:
        total.extend(result)
    total.seconds = seconds
    return total
