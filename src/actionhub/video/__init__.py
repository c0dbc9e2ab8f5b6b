"""From video files to feature vectors: decoding and sampling, visual backbones, extraction.

- :mod:`actionhub.video.decode`: PyAV decoding and the paper's frame sampling
  (``segments:T``, ``clip:LxS``); unreadable files raise :class:`DecodeError`.
- :mod:`actionhub.video.backbones`: registry of frame encoders (uint8 frames ``(T, H, W, 3)``
  -> one ``(D,)`` float32 vector per video); the offline default is EfficientNet-Lite0.
- :mod:`actionhub.video.extract`: resumable extraction of a directory or list of videos into
  the per-video feature store the trainer reads.
- :mod:`actionhub.video.conse`: a training-free zero-shot baseline (ConSE) on the ImageNet
  classifier of the default backbone.

PyAV, the backbone packages and the text encoder are imported lazily, so importing this
package costs nothing.
"""
