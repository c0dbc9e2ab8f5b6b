"""From video files to feature vectors: decoding and sampling, visual backbones, extraction.

- :mod:`actionhub.video.decode`: PyAV decoding and frame sampling (``segments:T``, ``clip:LxS``);
- :mod:`actionhub.video.backbones`: frame encoders, ``(T, H, W, 3)`` uint8 -> ``(D,)`` float32 per video;
- :mod:`actionhub.video.extract`: resumable extraction into the per-video feature store;
- :mod:`actionhub.video.conse`: the training-free ConSE baseline.

PyAV, the backbone packages and the text encoder are imported lazily.
Docs: docs/video.md#from-video-files-to-predictions
"""
