"""ER-style VSE: the paper's re-evaluated ER without BERT fine-tuning (Table 2-3).

Chen & Huang, "Elaborative Rehearsal for Zero-shot Action Recognition", ICCV 2021,
aligns videos with class definitions by a contrastive visual-semantic embedding and adds
"elaborative rehearsal" with detected objects; the ActionHub paper re-evaluates ER
with the text backbone frozen. ``--method er-vse`` is exactly CoCo restricted to that:
the class-level alignment with action definitions only (Eq. 3-4: ``class_text=ad``,
CoCo's visual and text projections, temperature and schedule), no description branch
(no L_c), no Cross-action Invariance Mining (``cim`` off) and no object rehearsal.
"""
from __future__ import annotations

from typing import Any

# ModelConfig fields that --method er-vse forces, whatever the other flags say.
FORCED_MODEL: dict[str, Any] = {"class_text": "ad", "cim": False}
