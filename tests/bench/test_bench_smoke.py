"""A smoke run of `python -m bench.run` on tiny settings: it starts every side and writes its report.

No timing is asserted (a benchmark prints figures; STYLE.md habit 8).
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_benchmark_runs_every_side_and_writes_table_json_and_plot(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "bench.run", "--quick", "--seconds", "0.3", "--warmup", "0.1",
               "--clients", "1,2", "--kinds", "face256,repeat", "--configs", "1x2x1", "--out", str(out)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((out / "benchmark.json").read_text())
    systems = {row["system"] for row in report["rows"]}
    assert {"seed", "ours 1w×2t×1r", "floor: onnxruntime 1 thread"} <= systems
    ours = {(r["kind"], r["clients"]): r for r in report["rows"] if r["system"] == "ours 1w×2t×1r"}
    assert set(ours) == {("face256", 1), ("face256", 2), ("repeat", 1), ("repeat", 2)}
    assert all(row["requests"] > 0 and row["errors"] == 0 for row in ours.values())
    assert ours[("repeat", 1)]["cached_share"] == 1.0 and ours[("face256", 1)]["cached_share"] == 0.0
    assert ours[("face256", 2)]["x_seed"] is not None and ours[("face256", 2)]["x_floor"] is not None
    memory = report["memory"]
    assert any(p["tensorflow"] for p in memory["seed"])  # the seed's way runs Keras …
    assert not any(p["tensorflow"] for p in memory["ours 1w×2t×1r"])  # … ours does not
    assert (out / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (out / "benchmark.md").read_text()
    assert "| system | input | clients |" in text and "python -m bench.run --quick" in text


def test_the_classifier_cost_bench_compares_two_model_folders(tmp_path, capsys):
    import models
    from bench.head_cost import main
    from core.served_model import ModelInfo
    from tests.model_versions import model_copy

    other = model_copy(tmp_path / "other", "other-version")
    main(["--calls", "4", "--against", str(other)])
    printed = capsys.readouterr().out
    shipped = ModelInfo.read(models.DEFAULT_MODEL_DIR).version
    assert f"{shipped} takes" in printed and "against other-version (median)" in printed
    for name in (shipped, "other-version"):            # a row of p50, p95 and mean milliseconds per side
        assert re.search(rf"^\s*{re.escape(name)}( +\d+\.\d\d){{3}}$", printed, re.MULTILINE), printed


def test_the_object_store_bench_prints_both_sides(tmp_path):
    from tests.scale_services import s3_endpoint

    command = [sys.executable, "-m", "bench.blob_store", "--endpoint", s3_endpoint(), "--rounds", "2", "--switches", "1"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    assert {"check", "dispute", "explanation", "model switch (promote → served)"} <= set(rows)
    assert re.search(r"check p50 added by the object store: [+-]\d+\.\d ms", result.stdout)
