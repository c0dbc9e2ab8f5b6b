"""ActionHub: zero-shot action recognition with video descriptions and the CoCo model."""

__version__ = "0.1.0"


def __getattr__(name: str):
    # ``actionhub.predict(videos, checkpoint, actions)`` without importing torch, PyAV and the
    # text encoders at ``import actionhub``.
    if name == "predict":
        from actionhub.engine.predict import predict

        return predict
    raise AttributeError(f"module 'actionhub' has no attribute {name!r}")
