"""ActionHub: zero-shot action recognition with video descriptions and the CoCo model.

The public Python API (train and evaluate CoCo on one split in a few lines)::

    import actionhub as ah
    run = ah.train("ucf101", 0, features="feats.npz", text_features="text.npz", out="runs/s0",
                   recipe="table3/coco-ucf101")
    summary = ah.evaluate([run])

Every name below loads on first use (no torch, numpy or pyarrow at import). Docs: README.md#use-from-python.
"""
import importlib as _importlib
import os as _os
import sys as _sys

__version__ = "0.1.0"

# torch's idle threads sleep instead of spinning, so a busy machine does not stall every
# operation (docs/training.md#threads); never over the user's own setting, and only in effect
# when torch is imported after this line (actionhub.utils.threads records which happened).
_PASSIVE_TOO_LATE = "torch" in _sys.modules and "OMP_WAIT_POLICY" not in _os.environ
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# public name -> the module that defines it
_EXPORTS = {
    # protocols (paper Sec. 5.1)
    "get_benchmark": "actionhub.protocols",
    "list_benchmarks": "actionhub.protocols",
    "register_benchmark": "actionhub.protocols",
    "load_user_benchmark": "actionhub.protocols",
    # inputs: video features, class text
    "load_features": "actionhub.features",
    "save_features": "actionhub.features",
    "load_class_text": "actionhub.text.class_text",
    "build_class_text": "actionhub.text.build",
    # configuration and recipes
    "TrainConfig": "actionhub.config",
    "ModelConfig": "actionhub.config",
    "OptimConfig": "actionhub.config",
    "load_recipe": "actionhub.recipes",
    "list_recipes": "actionhub.recipes",
    # train, evaluate, use
    "train": "actionhub.api",
    "evaluate": "actionhub.api",
    "load_model": "actionhub.engine.checkpoint",
    "predict": "actionhub.engine.predict",
    # the description dataset
    "open_store": "actionhub.api",
    "export_store": "actionhub.dataset.export",
    "import_export": "actionhub.dataset.importer",
    "analyze_descriptions": "actionhub.dataset.analysis_report",
    # the paper's published numbers (Tables 2-4), never mixed with runs
    "reported_rows": "actionhub.evaluation.reported",
    # every user error derives from this
    "UserError": "actionhub.utils.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'actionhub' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
