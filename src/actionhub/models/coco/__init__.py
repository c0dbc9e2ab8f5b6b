"""The CoCo model (Cross-modality and Cross-action Modeling, paper Sec. 4)."""
from actionhub.models.coco.model import CoCo

__all__ = ["CoCo"]
