"""The main job (``actionhub demo``) and everything only it needs: its plan, the SYNTHETIC
world of generated features (:mod:`~actionhub.demo.synthetic`) and clips
(:mod:`~actionhub.demo.synthclips`), real class text from the offline MiniLM
(:mod:`~actionhub.demo.class_text`), the report on its runs (:mod:`~actionhub.demo.report`) and a
prediction on a real clip (:mod:`~actionhub.demo.predict`). :func:`run_demo` runs it all.
"""


def __getattr__(name: str):
    if name == "run_demo":  # lazily: importing the package loads no torch
        from actionhub.demo.run import run_demo

        return run_demo
    raise AttributeError(f"module 'actionhub.demo' has no attribute {name!r}")
