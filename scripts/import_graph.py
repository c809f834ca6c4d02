"""Print which top-level packages import which, and every import of the command line (`cli`) from outside it.

Reads the source (imports at the top and inside functions alike), so nothing is executed:
    python scripts/import_graph.py            # the package graph and the rule breaks
    python scripts/import_graph.py --modules  # every module-to-module edge between packages
"""
from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "server", "models", "feedback", "cli", "bench")
# who may import whom: core is the bottom; server, models and feedback sit on it; the command line and
# the benchmarks on everything else. Nothing imports cli: a command parses, calls library code and prints.
ALLOWED = {"core": set(), "server": {"core"}, "models": {"core"}, "feedback": {"core", "server", "models"},
           "cli": {"core", "server", "models", "feedback"}, "bench": {"core", "server", "models", "feedback"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Absolute names of the modules `path` imports (relative imports resolved)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def edges() -> dict[str, set[str]]:
    """module → the project modules it imports."""
    modules = {module_name(p): p for package in PACKAGES if (ROOT / package).exists()
               for p in (ROOT / package).rglob("*.py")}
    if (ROOT / "cli.py").exists():
        modules["cli"] = ROOT / "cli.py"
    graph = {}
    for name, path in modules.items():
        graph[name] = {target for target in imports_of(path) if target in modules and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other in a circle (edges into a package's __init__ left out: importing
    `server.x` runs `server/__init__.py` first, which is no circle of the code's own making)."""
    packages = {name for name in graph if any(other.startswith(name + ".") for other in graph)}
    edges = {name: {t for t in targets if t not in packages} for name, targets in graph.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:   # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main(argv: list[str]) -> int:
    graph = edges()
    packages: dict[tuple[str, str], int] = defaultdict(int)
    breaks, cli_imports = [], []
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            src, dst = source.split(".")[0], target.split(".")[0]
            if src != dst:
                packages[src, dst] += 1
                if dst not in ALLOWED.get(src, set()):
                    breaks.append(f"{source} -> {target}")
            if dst == "cli" and src != "cli":
                cli_imports.append(f"{source} -> {target}")
    print("package imports (edges: module-level imports counted once per pair of modules):")
    for (src, dst), count in sorted(packages.items()):
        mark = "" if dst in ALLOWED.get(src, set()) else "   <- against the layering"
        print(f"  {src:9} -> {dst:9} {count:3}{mark}")
    if "--modules" in argv:
        print("\nmodule edges between packages:")
        for source, targets in sorted(graph.items()):
            for target in sorted(targets):
                if source.split(".")[0] != target.split(".")[0]:
                    print(f"  {source} -> {target}")
    print(f"\nagainst the layering: {len(breaks)}")
    for line in breaks:
        print(f"  {line}")
    print(f"modules outside cli importing it: {len(cli_imports)}")
    for line in cli_imports:
        print(f"  {line}")
    circles = cycles(graph)
    print(f"modules importing each other in a circle: {len(circles)}")
    for group in circles:
        print(f"  {' <-> '.join(group)}")
    return 1 if breaks or cli_imports or circles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
