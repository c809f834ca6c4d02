"""Figures from the bursts: p50/p95, images per second, ratios, the Markdown table and the plot.

Per-image time is wall-clock seconds of the whole 2-core machine per answered image, i.e.
1 / throughput at that number of concurrent clients. With one client it is about the mean latency;
with 4 or 16 clients both cores are busy and it is the service cost of one image. The floor's
per-image time is measured the same way: 1 stream at the best thread count for 1 client, and
2 concurrent streams for more clients (the most the runtime alone gets out of 2 cores).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bench.load import Burst


@dataclass
class Row:
    system: str          # "seed", "ours 2w×4t×1r", "floor: onnxruntime", …
    kind: str
    clients: int
    requests: int
    p50_ms: float
    p95_ms: float
    images_per_second: float
    server_p50_ms: float | None
    cached_share: float
    errors: int
    x_seed: float | None = None          # throughput ÷ the seed's, same kind and clients
    x_floor: float | None = None         # per-image time ÷ the floor's

    @property
    def per_image_ms(self) -> float:
        return 1000 / self.images_per_second if self.images_per_second else float("nan")

    def as_dict(self) -> dict:
        return {**asdict(self), "per_image_ms": self.per_image_ms}


def summarise(system: str, kind: str, clients: int, burst: Burst) -> Row:
    latencies = np.array(burst.latencies) * 1000 if burst.latencies else np.array([np.nan])
    server = np.median(burst.server_ms) if burst.server_ms else None
    return Row(system=system, kind=kind, clients=clients, requests=len(burst.latencies),
               p50_ms=float(np.percentile(latencies, 50)), p95_ms=float(np.percentile(latencies, 95)),
               images_per_second=burst.images_per_second, server_p50_ms=None if server is None else float(server),
               cached_share=burst.cached / len(burst.latencies) if burst.latencies else 0.0,
               errors=len(burst.errors))


def add_ratios(rows: list[Row]) -> None:
    """x_seed for every server row; x_floor against the runtime floor at the same parallelism."""
    seed = {(r.kind, r.clients): r for r in rows if r.system == "seed"}
    floor = [r for r in rows if r.system.startswith("floor: onnxruntime")]
    single = min((r.per_image_ms for r in floor if r.clients == 1), default=None)
    saturated = min((r.per_image_ms for r in floor), default=None)
    for row in rows:
        if row.system == "seed" or row.system.startswith("floor"):
            continue
        base = seed.get(("face256" if row.kind == "repeat" else row.kind, row.clients))
        if base and base.images_per_second:
            row.x_seed = row.images_per_second / base.images_per_second
        reference = single if row.clients == 1 else saturated
        if reference:
            row.x_floor = row.per_image_ms / reference


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def table(rows: list[Row]) -> str:
    lines = ["| system | input | clients | p50 ms | p95 ms | img/s | per-image ms | × seed img/s | × floor | "
             "server p50 ms | cached |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.system} | {r.kind} | {r.clients} | {_fmt(r.p50_ms)} | {_fmt(r.p95_ms)} | "
                     f"{_fmt(r.images_per_second)} | {_fmt(r.per_image_ms, 2)} | {_fmt(r.x_seed)} | "
                     f"{_fmt(r.x_floor, 2)} | {_fmt(r.server_p50_ms)} | {r.cached_share:.0%} |"
                     + (f" {r.errors} errors" if r.errors else ""))
    return "\n".join(lines)


def memory_table(memory: dict[str, list]) -> str:
    lines = ["| process | role | pid | RSS MB | peak RSS MB | TensorFlow loaded |", "|---|---|---:|---:|---:|---|"]
    for name, processes in memory.items():
        for p in processes:
            lines.append(f"| {name} | {p.role} | {p.pid} | {p.rss_mb:.0f} | {p.peak_mb:.0f} | "
                         f"{'yes' if p.tensorflow else 'no'} |")
    return "\n".join(lines)


def plot(rows: list[Row], served: str, path) -> None:
    """Throughput per input at the most clients, and p50/p95 latency against clients."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in ("face256", "photo1080", "noface", "repeat") if any(r.kind == k for r in rows)]
    most = max(r.clients for r in rows if r.system in ("seed", served))
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    width = 0.38
    for offset, system, colour in ((-width / 2, "seed", "tab:grey"), (width / 2, served, "tab:blue")):
        values = [next((r.images_per_second for r in rows if r.system == system and r.clients == most
                        and r.kind == (("face256" if system == "seed" and k == "repeat" else k))), 0) for k in kinds]
        bars = left.bar(np.arange(len(kinds)) + offset, values, width, label=system, color=colour)
        left.bar_label(bars, fmt="%.0f", fontsize=8)
    floor = [r for r in rows if r.system.startswith("floor: onnxruntime")]
    if floor:
        left.axhline(max(r.images_per_second for r in floor), color="tab:red", linestyle="--",
                     label="floor: onnxruntime alone")
    left.set_xticks(np.arange(len(kinds)), kinds)
    left.set_yscale("log")
    left.set_ylabel("images per second (log)")
    left.set_title(f"Throughput with {most} concurrent clients")
    left.legend(fontsize=8)
    for system, colour in (("seed", "tab:grey"), (served, "tab:blue")):
        for kind, style in (("face256", "o-"), ("photo1080", "s--"), ("repeat", "^:")):
            points = sorted((r.clients, r.p50_ms, r.p95_ms) for r in rows if r.system == system and r.kind == kind)
            if not points:
                continue
            clients, p50, p95 = zip(*points)
            right.plot(clients, p50, style, color=colour, label=f"{system} {kind} p50")
            right.fill_between(clients, p50, p95, color=colour, alpha=0.12)
    right.set_xscale("log", base=2)
    right.set_yscale("log")
    right.set_xlabel("concurrent clients")
    right.set_ylabel("latency ms (line p50, band to p95, log)")
    right.set_title("Latency")
    right.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
