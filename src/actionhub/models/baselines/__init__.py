"""Baselines of the paper's Tables 2-3 on the same frozen features and class text as CoCo.

Every baseline is trained and evaluated through ``actionhub train --method NAME`` and
``actionhub evaluate`` (see :mod:`actionhub.models.registry` and ``docs/baselines.md``).
:data:`BASELINES` maps a method name to its model class, hyper-parameter dataclass,
display name and citation, in the order of the paper's Table 2.
"""
from __future__ import annotations

from dataclasses import dataclass

from actionhub.models.baselines.ale import Ale, AleParams, ale_loss
from actionhub.models.baselines.common import BaselineModel, BilinearModel, fuse_class_text
from actionhub.models.baselines.dem import Dem, DemParams, dem_loss
from actionhub.models.baselines.devise import Devise, DeviseParams, devise_loss
from actionhub.models.baselines.eszsl import Eszsl, EszslParams, eszsl_fit, eszsl_objective
from actionhub.models.baselines.gcn import Gcn, GcnParams, class_graph, gcn_loss
from actionhub.models.baselines.sje import Sje, SjeParams, sje_loss


@dataclass(frozen=True)
class BaselineSpec:
    title: str
    model: type
    params: type
    citation: str
    summary: str


BASELINES: dict[str, BaselineSpec] = {
    "devise": BaselineSpec("DEVISE", Devise, DeviseParams, "Frome et al., NIPS 2013",
                           "linear map, hinge rank loss summed over violating classes"),
    "ale": BaselineSpec("ALE", Ale, AleParams, "Akata et al., CVPR 2013 / TPAMI 2016",
                        "bilinear compatibility, weighted approximate ranking (harmonic rank weights)"),
    "sje": BaselineSpec("SJE", Sje, SjeParams, "Akata et al., CVPR 2015",
                        "bilinear compatibility, structured SVM (most violating class)"),
    "dem": BaselineSpec("DEM", Dem, DemParams, "Zhang, Xiang & Gong, CVPR 2017",
                        "text -> visual MLP, least squares, nearest class in visual space"),
    "eszsl": BaselineSpec("ESZSL", Eszsl, EszslParams, "Romera-Paredes & Torr, ICML 2015",
                          "closed-form regularised bilinear model"),
    "gcn": BaselineSpec("GCN", Gcn, GcnParams, "Wang, Ye & Gupta, CVPR 2018 (as re-run by ER, ICCV 2021)",
                        "graph convolutions over the class graph regress the seen classes' classifier weights"),
}

__all__ = ["BASELINES", "BaselineSpec", "BaselineModel", "BilinearModel", "fuse_class_text",
           "Ale", "AleParams", "ale_loss", "Dem", "DemParams", "dem_loss", "Devise", "DeviseParams", "devise_loss",
           "Eszsl", "EszslParams", "eszsl_fit", "eszsl_objective",
           "Gcn", "GcnParams", "class_graph", "gcn_loss", "Sje", "SjeParams", "sje_loss"]
