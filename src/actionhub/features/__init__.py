"""Pre-extracted video features: the :class:`FeatureSet` view, the file layouts users bring
(per-video ``.npy`` directories, ``.npy``/``.npz`` matrices, Parquet), label resolution and
video lists. :func:`load_features` reads any of them; :func:`save_features` writes ``.npz`` or
Parquet."""
from actionhub.features.featureset import FeatureError, FeatureSet
from actionhub.features.formats import load_features, save_features
from actionhub.features.video_lists import VIDEO_EXTENSIONS

__all__ = ["FeatureSet", "FeatureError", "load_features", "save_features", "VIDEO_EXTENSIONS"]
