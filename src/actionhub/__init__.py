"""ActionHub: zero-shot action recognition with video descriptions and the CoCo model."""

__version__ = "0.1.0"
