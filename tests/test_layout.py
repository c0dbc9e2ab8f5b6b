"""The package layout keeps its promises: no import cycles, the library never imports the CLI,
and importing the package (or the report) loads nothing heavy."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import actionhub

SRC = Path(actionhub.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        rel = p.relative_to(SRC.parent).with_suffix("")
        out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = p
    return out


def _import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> actionhub modules it imports anywhere (module level or inside functions)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "actionhub":
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == "actionhub"}
        # importing a.b.c runs a.b's __init__ too (unless the importer lives inside a.b)
        for dep in list(deps):
            parts = dep.split(".")
            deps |= {".".join(parts[:i]) for i in range(2, len(parts))
                     if not name.startswith(".".join(parts[:i]) + ".")}
        graph[name] = {d for d in deps if d in modules and d != name and d != "actionhub"}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles_even_through_lazy_imports():
    assert _cycles(_import_graph(_modules())) == []


def test_the_library_never_imports_the_cli():
    graph = _import_graph(_modules())
    offenders = {m: sorted(d for d in deps if d.startswith("actionhub.cli"))
                 for m, deps in graph.items() if not m.startswith("actionhub.cli")}
    assert {m: d for m, d in offenders.items() if d} == {}


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_actionhub_is_light():
    loaded = _loaded_after("import actionhub")
    assert not {"torch", "pyarrow", "scipy", "numpy"} & loaded
    assert not any(m.startswith("actionhub.") for m in loaded)


def test_import_report_loads_no_trainer_sweep_or_demo():
    loaded = _loaded_after("import actionhub.report")
    assert "actionhub.report.build" in loaded
    assert not {"actionhub.engine.trainer", "actionhub.engine.sweep"} & loaded
    assert not any(m.startswith("actionhub.demo") for m in loaded)
