"""Packages import one way (core <- server, models <- feedback <- cli), and the server loads no training or
Label Studio code."""
from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_import_goes_against_the_layering_or_into_a_command_line_module_or_in_a_circle():
    graph = runpy.run_path(str(ROOT / "scripts" / "import_graph.py"))
    edges = graph["edges"]()
    assert edges["core.served_model"] and edges["cli"]                 # it reads the real tree
    assert graph["main"]([]) == 0
    assert graph["cycles"]({"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": set()}) == [["a.x", "a.y"]]   # it can fail


def test_the_server_loads_no_training_or_label_studio_code(tmp_path):
    script = (f"import sys, server\n"
              f"server.create_app({{'instance_dir': {str(tmp_path)!r}, 'api_keys': ['k']}})\n"
              "loaded = sorted({name.split('.')[0] for name in sys.modules})\n"
              "print(' '.join(loaded))\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert {"server", "core", "onnxruntime"} <= loaded
    assert not loaded & {"models", "feedback", "cli", "tensorflow", "keras", "sklearn", "label_studio_sdk", "matplotlib"}
