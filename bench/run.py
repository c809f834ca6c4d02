"""Benchmark: the seed's way, our server and the runtime floor, side by side, on the same weights.

    python -m bench.run [--quick] [--out bench/out] [--configs 2x4x1,1x4x2] [--rounds 3] [--seconds 3]

(a) seed: Keras `model.predict` per image behind a minimal Flask route (bench/seed_app.py);
(b) ours: `deepfake-guard serve` (gunicorn) over HTTP with 1, 4 and 16 concurrent clients, for each
    --configs entry WORKERSxTHREADSxRUNTIME_THREADS (DFG_WORKERS, DFG_THREADS, DFG_RUNTIME_THREADS);
    the first entry is the one judged against the targets;
(c) floor: ONNX Runtime alone on a preprocessed crop, and the detector in-process without HTTP.
Every (system, input, clients) cell runs once per round, in a new random order each round, so a
noisy neighbour on the machine hurts every side alike. Writes benchmark.{md,json,png} to --out.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import floor, report
from bench.inputs import make_inputs
from bench.load import Burst, run_burst
from tests import servers

REPO = Path(__file__).resolve().parents[1]
BENCH_KEY = "bench-key-0123456789"  # sent as the extension sends its key
TARGETS_NOTE = "targets of issue 7, judged on the first --configs entry"


@dataclass(frozen=True)
class Cell:
    system: str       # "seed", "ours …", "floor: …"
    kind: str
    clients: int


def _config_name(config: tuple[int, int, int]) -> str:
    return "ours {}w×{}t×{}r".format(*config)


def _parse_configs(text: str) -> list[tuple[int, int, int]]:
    configs = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise argparse.ArgumentTypeError(f"{item!r}: write WORKERSxTHREADSxRUNTIME_THREADS, e.g. 2x4x1")
        configs.append(tuple(int(p) for p in parts))
    return configs


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import onnxruntime
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__, "load_average": os.getloadavg()}


def _floor_calls(args, inputs) -> dict[Cell, list]:
    """In-process cells: each maps to the callables that run as concurrent streams."""
    import numpy as np
    from PIL import Image

    model = str(Path(args.model_dir) / "model.onnx")
    cells = {Cell("floor: onnxruntime 1 thread", "crop256", 1): [floor.ort_session(model, 1)],
             Cell("floor: onnxruntime 2 threads", "crop256", 1): [floor.ort_session(model, 2)],
             Cell("floor: onnxruntime 2 streams × 1 thread", "crop256", 2):
                 [floor.ort_session(model, 1), floor.ort_session(model, 1)],
             # micro-batching across requests could at best reach this
             Cell("floor: onnxruntime 2 streams × 1 thread, batches of 4", "crop256", 2):
                 [floor.ort_session(model, 1, batch=4), floor.ort_session(model, 1, batch=4)]}
    if args.pipeline_floor:
        face = inputs.base["face256"][0]
        cells[Cell("in-process detector, 1 thread", "face256", 1)] = [floor.pipeline_call(args.model_dir, 1, face)]
        cells[Cell("in-process detector, 2 streams × 1 thread", "face256", 2)] = [
            floor.pipeline_call(args.model_dir, 1, face) for _ in range(2)]
        from core.faces import FaceDetector
        from core.intake import decode_image
        photo = decode_image(inputs.base["photo1080"][0], 50_000_000).rgb
        rgb = np.asarray(Image.fromarray(photo).resize((1024, 768), Image.BILINEAR))
        faces = FaceDetector(num_threads=1)
        cells[Cell("in-process face detection, 1 thread", "photo 1024×768", 1)] = [lambda: faces.detect(rgb)]
    return cells


def _judge(rows: list[report.Row], memory: dict, served: str) -> list[str]:
    def row(kind: str, clients: int) -> report.Row | None:
        return next((r for r in rows if r.system == served and r.kind == kind and r.clients == clients), None)
    most = max((r.clients for r in rows if r.system == served), default=1)
    face1, face_most = row("face256", 1), row("face256", most)
    photo1, repeat1 = row("photo1080", 1), row("repeat", 1)
    detect = next((r for r in rows if r.system.startswith("in-process face detection")), None)
    workers = [p for p in memory.get(served, []) if p.role == "worker"]
    checks = [
        ("256² face JPEG p50 ≤ 25 ms (1 client)", face1 and face1.p50_ms <= 25, face1 and f"{face1.p50_ms:.1f} ms"),
        (f"256² face throughput ≥ 8× seed ({most} clients)", face_most and (face_most.x_seed or 0) >= 8,
         face_most and f"{face_most.x_seed or 0:.1f}×"),
        (f"per-image time ≤ 1.2× the onnxruntime floor ({most} clients)", face_most and (face_most.x_floor or 99) <= 1.2,
         face_most and f"{face_most.x_floor or float('nan'):.2f}×"),
        ("1920×1080 photo with faces p50 ≤ 80 ms (1 client)", photo1 and photo1.p50_ms <= 80,
         photo1 and f"{photo1.p50_ms:.1f} ms"),
        ("face detection at 1024×768 ≤ 40 ms", detect and detect.p50_ms <= 40, detect and f"{detect.p50_ms:.1f} ms"),
        ("repeated image p50 ≤ 3 ms (1 client)", repeat1 and repeat1.p50_ms <= 3, repeat1 and f"{repeat1.p50_ms:.2f} ms"),
        ("peak RSS ≤ 300 MB per worker", workers and max(p.peak_mb for p in workers) <= 300,
         workers and f"{max(p.peak_mb for p in workers):.0f} MB"),
        ("no TensorFlow in workers", workers and not any(p.tensorflow for p in workers),
         workers and ("none" if not any(p.tensorflow for p in workers) else "loaded")),
    ]
    return [f"- {'reached' if ok else 'NOT reached' if value else 'not measured'}: {name}"
            + (f" — {value}" if value else "") for name, ok, value in checks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round of short cells (a few minutes)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    parser.add_argument("--configs", type=_parse_configs, default=None,
                        help="our server settings WORKERSxTHREADSxRUNTIME_THREADS, comma-separated "
                             "(default: the DFG_* settings now in force)")
    parser.add_argument("--clients", type=_ints, default=[1, 4, 16])
    parser.add_argument("--kinds", default="face256,photo1080,noface,repeat")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per cell and round")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each cell")
    parser.add_argument("--no-seed", dest="seed", action="store_false", help="skip the Keras server")
    parser.add_argument("--no-pipeline-floor", dest="pipeline_floor", action="store_false")
    parser.add_argument("--model-dir", default=None, help="model folder (default: the shipped model)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.warmup = 1, min(args.seconds, 1.5), min(args.warmup, 0.5)
    import models
    from core.settings import Settings
    args.model_dir = str(args.model_dir or models.DEFAULT_MODEL_DIR)
    if args.configs is None:
        settings = Settings()
        args.configs = [(settings.workers, settings.threads, settings.runtime_threads)]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    command = "python -m bench.run " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    before = machine()
    print(f"machine: {before['cpu']}, {before['cores']} cores, load average {before['load_average']}", flush=True)

    inputs = make_inputs()
    started, running = time.monotonic(), {}
    work = Path(tempfile.mkdtemp(prefix="dfg-bench-"))
    counter = itertools.count()
    try:
        for config in args.configs:
            name = _config_name(config)
            print(f"starting {name} …", flush=True)
            running[name] = servers.start_ours(name, work / name.replace(" ", "_"), *config, api_key=BENCH_KEY)
        if args.seed:
            print("starting the seed's Keras server …", flush=True)
            running["seed"] = servers.start_seed(work / "seed")
        print(f"servers ready after {time.monotonic() - started:.0f} s; building the floor …", flush=True)
        calls = _floor_calls(args, inputs)

        cells = list(calls)
        for name in running:
            for kind, clients in itertools.product(kinds, args.clients):
                if not (name == "seed" and kind == "repeat"):  # the seed has no cache: repeat = face256
                    cells.append(Cell(name, kind, clients))
        # Warm every server on every input once (lazy initialisation is not what we measure).
        for cell in cells:
            if cell.system in running:
                server = running[cell.system]
                run_burst(server.url + server.check_path, lambda n, k=cell.kind: inputs.body(k, n), 1, 0.2, 0.0,
                          counter, server.headers)
        bursts: dict[Cell, Burst] = {cell: Burst() for cell in cells}
        rng = random.Random(7)
        total = len(cells) * args.rounds
        for round_number in range(args.rounds):
            order = cells[:]
            rng.shuffle(order)
            for index, cell in enumerate(order, 1):
                if cell in calls:
                    burst = floor.run_streams(calls[cell], args.seconds, args.warmup)
                else:
                    server = running[cell.system]
                    burst = run_burst(server.url + server.check_path, lambda n, k=cell.kind: inputs.body(k, n),
                                      cell.clients, args.seconds, args.warmup, counter, server.headers)
                bursts[cell].extend(burst)
                done = round_number * len(cells) + index
                row = report.summarise(cell.system, cell.kind, cell.clients, burst)
                print(f"[{done}/{total}] {cell.system} · {cell.kind} · {cell.clients} client(s): "
                      f"{row.images_per_second:.1f} img/s, p50 {row.p50_ms:.1f} ms, p95 {row.p95_ms:.1f} ms"
                      + (f", {row.errors} errors" if row.errors else ""), flush=True)
        memory = {name: server.memory() for name, server in running.items()}
    finally:
        for server in running.values():
            server.stop()

    rows = [report.summarise(c.system, c.kind, c.clients, bursts[c]) for c in cells]
    rows.sort(key=lambda r: (0 if r.system == "seed" else 2 if r.system.startswith(("floor", "in-process")) else 1,
                             r.system, r.kind, r.clients))
    report.add_ratios(rows)
    served = _config_name(args.configs[0])
    judged = _judge(rows, memory, served)
    after = machine()
    args.out.mkdir(parents=True, exist_ok=True)
    plot_path = args.out / "benchmark.png"
    report.plot(rows, served, plot_path)
    text = "\n\n".join([
        f"Command: `{command}`",
        f"Machine: {before['cpu']}, {before['cores']} cores; Python {before['python']}, onnxruntime "
        f"{before['onnxruntime']}; load average before {before['load_average'][0]:.2f}, after "
        f"{after['load_average'][0]:.2f}. {args.rounds} round(s) × {args.seconds:g} s per cell, interleaved.",
        "Inputs: " + "; ".join(f"{k}: {v}" for k, v in inputs.describe().items()),
        report.table(rows), report.memory_table(memory),
        f"Judged ({TARGETS_NOTE}: {served}):\n" + "\n".join(judged)])
    (args.out / "benchmark.md").write_text(text + "\n")
    (args.out / "benchmark.json").write_text(json.dumps(
        {"command": command, "machine": {"before": before, "after": after}, "rows": [r.as_dict() for r in rows],
         "memory": {k: [vars(p) for p in v] for k, v in memory.items()}, "judged": judged}, indent=1))
    print("\n" + text + f"\n\nWrote {args.out / 'benchmark.md'}, benchmark.json and {plot_path}.", flush=True)
    return 1 if any(r.errors for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
