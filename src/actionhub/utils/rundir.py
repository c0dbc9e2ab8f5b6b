"""A run folder (``actionhub train --out``) and what lies in it: :class:`RunDir` owns the paths,
the reading and writing of run.json, config.json and the checkpoints, and the one check of whether
the folder holds this run or another (:meth:`RunDir.holds`). Every reader of a run folder goes
through it. The layout: docs/training.md#the-run-folder.

Checkpoints hold only tensors, plain containers and JSON-able values and are always read with
``torch.load(weights_only=True)`` (:func:`load_checkpoint`): a file holding anything else is
refused, never executed, so run folders can be shared safely.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from actionhub.utils import jsontext
from actionhub.utils.errors import UserError
from actionhub.utils.io import atomic_path, atomic_write_json
from actionhub.utils.runinfo import RUN_FORMAT, now

__all__ = ["RunDir", "RunDirError", "load_checkpoint", "run_differences"]

log = logging.getLogger(__name__)


class RunDirError(UserError):
    """The run directory holds a different run, or cannot be resumed."""


class RunDir:
    """The run folder ``path``. ``run_json`` names the record when it is not ``path/run.json``
    (a run record passed as a file)."""

    def __init__(self, path: str | Path, run_json: str | Path | None = None):
        self.path = Path(path)
        self.run_json = Path(run_json) if run_json is not None else self.path / "run.json"

    @classmethod
    def of(cls, path: str | Path) -> "RunDir":
        """The run folder of ``path``: a run folder, or a run record file inside one."""
        p = Path(path)
        return cls(p.parent, p) if p.is_file() else cls(p)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # ------------------------------------------------------------------ paths
    @property
    def config_json(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoint(self) -> Path:
        """``checkpoint.pt``: the resumable training state, rewritten at each evaluation."""
        return self.path / "checkpoint.pt"

    @property
    def model(self) -> Path:
        """``model.pt``: the selected weights (:func:`actionhub.engine.checkpoint.load_model`)."""
        return self.path / "model.pt"

    @property
    def gzsl(self) -> Path:
        """``gzsl.npz``: per-video GZSL margins, to re-evaluate any calibration."""
        return self.path / "gzsl.npz"

    @property
    def tb(self) -> Path:
        """``tb/``: TensorBoard event files (``--log tensorboard``)."""
        return self.path / "tb"

    @property
    def select(self) -> "RunDir":
        """``select/``: with ``--refit``, the run that chose the steps on the carved val classes."""
        return RunDir(self.path / "select")

    # ------------------------------------------------------------------ run.json and config.json
    def read(self) -> dict[str, Any] | None:
        """run.json; None when it is missing, unreadable or not a JSON object."""
        return _json_object(self.run_json)

    def load(self, error: type[UserError] = RunDirError) -> dict[str, Any] | None:
        """run.json; None when there is none. One that is not a JSON object is an ``error``."""
        if not self.run_json.is_file():
            return None
        try:
            obj = jsontext.loads(self.run_json.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise error(f"{self.run_json} is not valid JSON ({getattr(e, 'msg', e)}); is {self.path} a run folder "
                        "written by `actionhub train` (the run may have been written by another tool)?") from None
        if not isinstance(obj, dict):
            raise error(f"{self.run_json} holds a JSON {type(obj).__name__}, not an ActionHub run record")
        return obj

    def load_finished(self, error: type[UserError] = RunDirError) -> dict[str, Any]:
        """The finished run record, with ``run_dir`` added; anything else is an ``error`` saying why."""
        rec = self.load(error)
        if rec is None:
            raise error(f"{self.run_json} not found: pass run directories written by `actionhub train`")
        if rec.get("format") != RUN_FORMAT:
            raise error(f"{self.run_json} is not an ActionHub run record (format {rec.get('format')!r})")
        if rec.get("status") != "finished":
            why = f": {rec['error']}" if rec.get("status") == "diverged" and rec.get("error") else ""
            raise error(f"{self.run_json}: run is not finished (status {rec.get('status')!r}{why}); rerun the same "
                        "`actionhub train` command to resume it")
        rec["run_dir"] = str(self.path)
        return rec

    def finished_at(self) -> str | None:
        """``finished_at`` of the finished run in this folder; None when there is none."""
        rec = self.read()
        return rec.get("finished_at") if rec is not None and rec.get("status") == "finished" else None

    def write(self, record: Mapping[str, Any]) -> None:
        """Write run.json atomically."""
        atomic_write_json(self.run_json, record)

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Write config.json (the run's config, also inside run.json) atomically."""
        atomic_write_json(self.config_json, config)

    def mark(self, status: str, error: str) -> None:
        """Mark a run that is still ``running`` as ``status`` (failed, interrupted) with ``error``;
        any other run (finished, diverged) is never touched."""
        rec = self.read()
        if rec is None or rec.get("status") != "running":
            return
        rec.update(status=status, error=error, stopped_at=now())
        try:
            self.write(rec)
        except OSError as e:   # the disk is still full: say so, the run stays resumable all the same
            log.warning("could not mark %s as %s: %s", self.run_json, status, e)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        """Write checkpoint.pt atomically (tensors, plain containers and JSON-able values only)."""
        import torch  # noqa: PLC0415

        with atomic_path(self.checkpoint) as tmp:
            torch.save(dict(state), tmp)

    def load_checkpoint(self, device: str = "cpu") -> dict[str, Any] | None:
        """checkpoint.pt (:func:`load_checkpoint`); None when there is none."""
        return load_checkpoint(self.checkpoint, device) if self.checkpoint.exists() else None

    # ------------------------------------------------------------------ this run or another
    def holds(self, new: Mapping[str, Any], fingerprint: str | None = None) -> dict[str, Any] | None:
        """The one check of whether this folder holds the run ``new`` describes.

        ``new``: the record the run will write (at least config, benchmark, split, data). Without
        ``fingerprint`` (before any data is loaded) the settings are compared with the folder's
        run.json (with ``--refit``: the selection run's, which holds the settings asked for), else
        its config.json; with it, the fingerprint of run.json decides. Another run is a
        :class:`RunDirError` naming what differs. Returns the folder's run.json when it is this
        run, None when the folder holds no run."""
        rec = self.read()
        if fingerprint is not None:
            if rec is not None and rec.get("fingerprint") != fingerprint:
                raise self.other_run(new)
            return rec
        old = self.select.read() or rec
        if old is None:
            config = _json_object(self.config_json)
            old = {"config": config} if config is not None else None
        if old is not None and run_differences(old, new):
            raise self.other_run(new, old)
        return rec

    def done(self, new: Mapping[str, Any], fingerprint: str | None = None) -> dict[str, Any] | None:
        """The folder's run.json when it holds this run (:meth:`holds`) and that run is done: finished
        with its model.pt, or diverged (the same command would diverge again). None: there is work
        left (nothing yet, or a run to resume)."""
        rec = self.holds(new, fingerprint)
        if rec is None:
            return None
        if (rec.get("status") == "finished" and self.model.exists()) or rec.get("status") == "diverged":
            return rec
        return None

    def other_run(self, new: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> RunDirError:
        """The "already holds a different run" error, naming the settings that differ from ``new``."""
        old = old if old is not None else self.read()
        diffs = run_differences(old, new) if old is not None else []
        what = ("it was trained with " + "; ".join(diffs[:8]) + (" ..." if len(diffs) > 8 else "")) if diffs else \
            "its config, split or data differ"
        return RunDirError(f"{self.path} already holds a different run: {what}. Use a new --out directory, or "
                           f"delete {self.path} to start over.")


def run_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The settings in which the run record ``old`` (run.json) and ``new`` (same keys: config,
    benchmark, split, data paths) differ, as ``--flag OLD (now NEW)`` strings."""
    diffs: list[str] = []
    oc, nc = _flat(old.get("config") or {}), _flat(new.get("config") or {})
    for k in nc:
        if k in oc and oc[k] != nc[k]:
            diffs.append(f"{_flag(k)} {oc[k]!r} (now {nc[k]!r})")
    for k in ("benchmark", "split"):
        if k in old and k in new and old[k] != new[k]:
            diffs.append(f"--{k} {old[k]!r} (now {new[k]!r})")
    od, nd = old.get("data") or {}, new.get("data") or {}
    for k in ("features", "eval_features", "text_features", "cim_pool"):
        if k in od and k in nd and od[k] != nd[k]:
            diffs.append(f"--{k.replace('_', '-')} {od[k]!r} (now {nd[k]!r})")
    return diffs


def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and k in ("model", "optim", "method_params"):
            out.update(_flat(v, f"{prefix}{k}." if k == "method_params" else ""))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _flag(name: str) -> str:
    if name.startswith("method_params."):
        return f"--method-param {name.split('.', 1)[1]}"
    return "--" + name.replace("_", "-")


def _json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``; None when it is missing, unreadable or not an object."""
    try:
        obj = jsontext.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def load_checkpoint(path: str | Path, device: str = "cpu") -> dict[str, Any]:
    """The dict saved in the checkpoint ``path``, loaded with ``weights_only=True`` (tensors, plain
    containers and numbers/strings only); anything else is a :class:`RunDirError`, nothing runs."""
    import pickle  # noqa: PLC0415
    import zipfile  # noqa: PLC0415

    import torch  # noqa: PLC0415

    path = Path(path)
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "weights_only" in str(e) or "Unsupported" in str(e) or "global" in str(e).lower():
            raise RunDirError(
                f"{path} holds Python objects besides tensors and plain values, which could run code when "
                f"loaded, so it is not loaded ({first[:200]}). Only load checkpoints written by `actionhub "
                "train`; if this one is yours, train again into a new --out directory") from None
        raise RunDirError(f"{path} is not a readable checkpoint ({first[:200]}); train again into a new "
                          "--out directory") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as e:
        raise RunDirError(f"{path} is truncated or corrupt ({str(e).strip()[:200] or type(e).__name__}); "
                          "train again into a new --out directory (or delete it to start over)") from None
    if not isinstance(blob, dict):
        raise RunDirError(f"{path} holds a {type(blob).__name__}, not an `actionhub train` checkpoint; train "
                          "again into a new --out directory")
    return blob
