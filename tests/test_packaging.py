"""Packaging: the package asks for a torch *range* (an installed CUDA torch is kept), while
`make` pins the CPU build it tests through constraints/cpu.txt; extras are declared."""
from __future__ import annotations

import email
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _torch_requirements(reqs: list[str]) -> list[str]:
    return [r for r in reqs if re.match(r"torch\b(?![-_\w])", r.strip())]


def _check_torch_range(reqs: list[str]) -> None:
    from packaging.requirements import Requirement

    torch_reqs = _torch_requirements(reqs)
    assert len(torch_reqs) == 1, torch_reqs
    spec = Requirement(torch_reqs[0]).specifier
    assert not any(s.operator in ("==", "===") for s in spec), f"torch is pinned: {torch_reqs[0]}"
    # the versions the range admits: the CPU build make tests with, other 2.x releases; not 3
    for v in ("2.1.0", "2.4.1", "2.13.0", "2.13.0+cpu", "2.14.1+cu128"):
        assert spec.contains(v, prereleases=False), (v, str(spec))
    for v in ("1.13.1", "3.0.0"):
        assert not spec.contains(v), (v, str(spec))


def test_pyproject_asks_for_a_torch_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    _check_torch_range(project["dependencies"])
    extras = project["optional-dependencies"]
    assert any(r.startswith("open_clip_torch") for r in extras["clip"])
    assert any(r.startswith("timm") for r in extras["timm"])
    # torchvision cannot be imported beside the CPU torch make installs: the test set stays without it
    assert "clip" not in extras["all"][0] and "timm" not in extras["all"][0]
    assert not any("clip" in r or "timm" in r for r in extras["test"])


def test_built_metadata_does_not_pin_torch(tmp_path):
    """The wheel metadata built from this checkout (what `pip install .` sees) has a torch range."""
    build_meta = pytest.importorskip("setuptools.build_meta")
    import os

    cwd = os.getcwd()
    egg_info = ROOT / "src" / "actionhub.egg-info"
    had_egg_info = egg_info.exists()
    try:
        os.chdir(ROOT)
        name = build_meta.prepare_metadata_for_build_wheel(str(tmp_path))
    finally:
        os.chdir(cwd)
        if not had_egg_info:
            shutil.rmtree(egg_info, ignore_errors=True)
    meta = email.message_from_string((tmp_path / name / "METADATA").read_text(encoding="utf-8"))
    reqs = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    _check_torch_range(reqs)


def test_installed_metadata_of_this_checkout_does_not_pin_torch():
    """Where this checkout is the installed one (make test), its installed metadata is checked too."""
    try:
        dist = importlib.metadata.distribution("actionhub")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("actionhub is not installed (running from sources)")
    url = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    if Path(url.removeprefix("file://")).resolve() != ROOT:
        pytest.skip(f"the installed actionhub is another checkout ({url}); the built metadata test covers this one")
    _check_torch_range(dist.requires or [])


def test_constraints_pin_the_cpu_torch_inside_the_range():
    from packaging.requirements import Requirement

    lines = [ln.split("#")[0].strip() for ln in (ROOT / "constraints" / "cpu.txt").read_text().splitlines()]
    pins = [Requirement(ln) for ln in lines if ln]
    torch_pin = [r for r in pins if r.name == "torch"]
    assert len(torch_pin) == 1 and str(torch_pin[0].specifier).startswith("==")
    version = str(torch_pin[0].specifier).removeprefix("==")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    rng = Requirement(_torch_requirements(project["dependencies"])[0]).specifier
    assert rng.contains(version)


@pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")
def test_makefile_installs_through_the_constraints_file(tmp_path):
    """`make install` passes -c constraints/cpu.txt, and a changed constraints file reinstalls."""
    for f in ("Makefile", "pyproject.toml", "constraints/cpu.txt"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, tmp_path / f)
    dry = subprocess.run(["make", "-n", "install"], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    install = [ln for ln in dry.splitlines() if "pip install" in ln and "-e" in ln]
    assert len(install) == 1 and "-c constraints/cpu.txt" in install[0], dry
    stamp = re.search(r"touch (\S+)", dry).group(1)
    # pretend the install ran: the stamp is up to date ...
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / stamp).touch()
    assert subprocess.run(["make", "-q", "install"], cwd=tmp_path).returncode == 0
    # ... until the constraints change
    with open(tmp_path / "constraints" / "cpu.txt", "a") as fh:
        fh.write("# another pin\n")
    assert subprocess.run(["make", "-q", "install"], cwd=tmp_path).returncode != 0
