"""The package layout keeps its promises: the layer order of docs/architecture.md, no import cycles,
no private names imported across modules, one PathLike, the library never imports the CLI, module
docstrings of at most 10 lines, and importing the package (or the report) loads nothing heavy."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _layers(text: str) -> list[list[str]]:
    """The layer block of docs/architecture.md (first fenced block after "### Layers"), top layer first."""
    section = text[text.index("### Layers"):]
    block = section[section.index("```text") + len("```text"):]
    block = block[:block.index("```")]
    return [line.split() for line in block.strip().splitlines() if line.strip()]


def _package(module: str) -> str:
    """actionhub.engine.trainer -> engine; actionhub.api -> api."""
    return module.split(".")[1]


def _layer_violations(graph: dict[str, set[str]], layers: list[list[str]]) -> list[str]:
    level = {pkg: i for i, line in enumerate(reversed(layers)) for pkg in line}
    bad = []
    for mod, deps in graph.items():
        if mod == "actionhub":
            continue
        for dep in deps:
            a, b = _package(mod), _package(dep)
            if a != b and level[b] >= level[a]:
                bad.append(f"{mod} imports {dep} ({a} may use only layers below its own)")
    return sorted(bad)


def test_layer_check_catches_an_upward_import():
    layers = [["engine"], ["models", "protocols"], ["utils"]]
    graph = {"actionhub.utils.io": {"actionhub.engine.trainer"}, "actionhub.engine.trainer": {"actionhub.utils.io"},
             "actionhub.models.x": {"actionhub.protocols.y"}, "actionhub.protocols.y": set()}
    assert _layer_violations(graph, layers) == [
        "actionhub.models.x imports actionhub.protocols.y (models may use only layers below its own)",
        "actionhub.utils.io imports actionhub.engine.trainer (utils may use only layers below its own)"]


def test_every_package_sits_in_the_documented_layer_order():
    layers = _layers(ARCHITECTURE.read_text(encoding="utf-8"))
    placed = [pkg for line in layers for pkg in line]
    assert len(placed) == len(set(placed)), "a package is named twice in the layer block"
    modules = _modules()
    present = {_package(m) for m in modules if m != "actionhub"}
    assert present - set(placed) == set(), "place these packages in the layer block of docs/architecture.md"
    assert _layer_violations(_import_graph(modules), layers) == []


def test_path_like_is_defined_once():
    defined = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                     if any(isinstance(n, ast.Assign) and any(getattr(t, "id", None) == "PathLike" for t in n.targets)
                            for n in ast.parse(p.read_text(encoding="utf-8")).body))
    assert defined == ["utils/types.py"]


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_actionhub_is_light():
    loaded = _loaded_after("import actionhub")
    assert not {"torch", "pyarrow", "scipy", "numpy"} & loaded
    assert not any(m.startswith("actionhub.") for m in loaded)


@pytest.mark.slow
def test_import_report_loads_no_trainer_sweep_or_demo():
    loaded = _loaded_after("import actionhub.report")
    assert "actionhub.report.build" in loaded
    assert not {"actionhub.engine.trainer", "actionhub.engine.sweep"} & loaded
    assert not any(m.startswith("actionhub.demo") for m in loaded)
def _private_imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "actionhub"):
            out += [f"{path.name}:{node.lineno} {a.name}" for a in node.names
                     if a.name.startswith("_") and not a.name.startswith("__")]
    return out


def test_no_module_imports_another_modules_private_names(tmp_path):
    planted = tmp_path / "m.py"
    planted.write_text("from actionhub.utils.io import _secret, public\n", encoding="utf-8")
    assert _private_imports(planted) == ["m.py:1 _secret"]
    root = SRC.parent.parent  # the library, and the benchmarks and scripts that use it
    files = [*SRC.rglob("*.py"), *(root / "benchmarks").glob("*.py"), *(root / "scripts").glob("*.py")]
    assert [hit for p in files for hit in _private_imports(p)] == []




def _long_module_docstrings(paths, limit: int = 10) -> list[str]:
    out = []
    for p in paths:
        doc = ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")), clean=False)
        if doc and len(doc.splitlines()) > limit:
            out.append(f"{p.name}: {len(doc.splitlines())} lines")
    return out


def test_module_docstrings_are_short_and_the_docs_hold_the_rest(tmp_path):
    planted = tmp_path / "m.py"
    planted.write_text('"""Summary.\n' + "more\n" * 10 + '"""\n', encoding="utf-8")
    assert _long_module_docstrings([planted]) == ["m.py: 11 lines"]
    assert _long_module_docstrings(sorted(SRC.rglob("*.py"))) == []


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lstrip("#").strip().lower()).replace(" ", "-")


def test_every_docs_link_in_the_code_points_at_a_heading():
    assert _anchor("## 3. The store (`Store`)") == "3-the-store-store"
    root = SRC.parent.parent
    links = {m for p in SRC.rglob("*.py") for m in re.findall(r"docs/\w+\.md#[\w-]+", p.read_text(encoding="utf-8"))}
    assert links, "no docs links found"
    broken = []
    for link in sorted(links):
        path, anchor = link.split("#")
        doc = root / path
        headings = {_anchor(line) for line in doc.read_text(encoding="utf-8").splitlines()
                    if line.startswith("#")} if doc.is_file() else set()
        if anchor not in headings:
            broken.append(link)
    assert broken == []
