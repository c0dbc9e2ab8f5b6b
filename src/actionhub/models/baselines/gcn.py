"""GCN baseline: regress classifier weights from the class graph (Table 2's GCN row).

Wang, Ye & Gupta (CVPR 2018) as re-run by Elaborative Rehearsal; every class of the split is a node.
Node inputs ``s_c: (D_t,)`` (:mod:`actionhub.models.baselines.common`); graph ``A: (C, C)``: ``graph_k``
nearest classes, symmetric, row-normalised (:func:`class_graph`); layers (:class:`GraphConv`)
``H' = act(A (drop(H) W + b) + drop(H) W_self)`` to ``D_v``, ``w_c = normalize(H_L[c])``; loss (:func:`gcn_loss`):
MSE against the L2-normalised seen targets (:mod:`actionhub.models.baselines.gcn_targets`); scores ``x . w_c``.
Trained in one shot (:meth:`Gcn.fit_once`); :meth:`Gcn.class_embeddings` rebuilds the graph for any class set.

Docs: docs/baselines.md#gcn-the-class-graph-table-2s-gcn-row
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actionhub.config import ModelConfig
from actionhub.models.baselines.common import BaselineModel
from actionhub.models.fitting import FitData, Refit

log = logging.getLogger(__name__)

#: cosine above which a queried class embedding is the same node as a stored one
SAME_NODE = 1.0 - 1e-5


@dataclass
class GcnParams:
    targets: str = ""            # .npy (rows, D_v) classifier weights of the seen classes; "" = class-mean features
    targets_classes: str = ""    # class of each target row: a file (one name a line) or a shipped list (kinetics400)
    graph_k: int = 5             # neighbours per class in the graph, the class itself included (ER: 5)
    hidden: str = "512,1024,1024,1024,1024"   # hidden layer sizes; the output size is the visual dim
    dropout: float = 0.5         # on the input of the last layer
    slope: float = 0.2           # LeakyReLU negative slope
    epochs: int = 200            # full-graph steps (ER: 200)
    lr: float = 1e-3             # Adam learning rate (ER: 1e-3, cosine annealed)
    weight_decay: float = 1e-6   # Adam weight decay (ER: 1e-6)
    val_every: int = 10          # evaluate on the val classes every N epochs and keep the best (where there are any)

    def validate(self) -> None:
        if self.graph_k < 1:
            raise ValueError(f"graph_k must be >= 1, got {self.graph_k}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.epochs < 1 or self.lr <= 0 or self.weight_decay < 0 or self.val_every < 1:
            raise ValueError(f"epochs, lr and val_every must be positive and weight_decay >= 0, got {self}")
        self.hidden_sizes()

    def hidden_sizes(self) -> list[int]:
        try:
            sizes = [int(v) for v in self.hidden.split(",") if v.strip()]
        except ValueError:
            sizes = []
        if not sizes or any(s < 1 for s in sizes):
            raise ValueError(f"hidden must be comma-separated positive sizes, e.g. 512,1024, got {self.hidden!r}")
        return sizes


def class_graph(s: Tensor, k: int) -> Tensor:
    """s: (C, D) node inputs -> (C, C) row-normalised adjacency.

    Row c links class c to its ``k`` most cosine-similar classes, itself always included;
    the links are made symmetric (``A = max(A, A^T)``) and each row divided by its sum."""
    c = s.shape[0]
    u = F.normalize(s, dim=-1)
    sim = u @ u.t()
    sim.fill_diagonal_(math.inf)
    idx = sim.topk(min(k, c), dim=1).indices
    a = torch.zeros(c, c, dtype=s.dtype, device=s.device).scatter_(1, idx, 1.0)
    a = torch.maximum(a, a.t())
    return a / a.sum(dim=1, keepdim=True)


def gcn_loss(pred: Tensor, targets: Tensor) -> Tensor:
    """pred: (S, D_v) predicted weights of the seen classes with targets, targets: (S, D_v) ->
    scalar mean squared error against the L2-normalised targets."""
    return F.mse_loss(pred, F.normalize(targets, dim=-1))


class GraphConv(nn.Module):
    """One graph convolution with a separate self-loop weight:
    ``act(A (drop(H) W + b) + drop(H) W_self)``; ``slope=None`` means no activation."""

    def __init__(self, d_in: int, d_out: int, dropout: float, slope: float | None):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out)
        self.self_weight = nn.Parameter(torch.empty(d_in, d_out))
        nn.init.xavier_uniform_(self.self_weight, gain=nn.init.calculate_gain("relu"))
        self.drop = nn.Dropout(dropout)
        self.slope = slope

    def forward(self, h: Tensor, adj: Tensor) -> Tensor:
        """h: (C, d_in), adj: (C, C) -> (C, d_out)."""
        h = self.drop(h)
        out = adj @ self.lin(h) + h @ self.self_weight
        return F.leaky_relu(out, self.slope) if self.slope is not None else out


class Gcn(BaselineModel):
    """GCN: class graph -> predicted classifier weights ``w_c: (D_v,)`` (see the module doc)."""

    graph_trained = True
    one_shot = True

    def __init__(self, visual_dim: int, text_dim: int, cfg: ModelConfig, params: GcnParams):
        super().__init__(visual_dim, text_dim, cfg, params)
        sizes = [text_dim] + params.hidden_sizes() + [visual_dim]
        n = len(sizes) - 1
        self.layers = nn.ModuleList(
            GraphConv(sizes[i], sizes[i + 1], params.dropout if i == n - 1 else 0.0,
                      None if i == n - 1 else params.slope)
            for i in range(n)
        )
        # The node inputs of the trained graph (C, D_t), and whether videos are scored raw
        # (classifier targets) or centred and unit (mean-feature targets). Saved with the model.
        self.register_buffer("nodes", torch.zeros(0, text_dim))
        self.register_buffer("raw_video", torch.tensor(False))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kw: Any) -> None:
        # The number of nodes is only known from the saved weights.
        key = prefix + "nodes"
        if key in state_dict:
            self.nodes = torch.zeros_like(state_dict[key], device=self.nodes.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kw)

    def propagate(self, s: Tensor, adj: Tensor) -> Tensor:
        """s: (C, D_t) node inputs, adj: (C, C) -> (C, D_v) unit predicted weights."""
        h = s
        for layer in self.layers:
            h = layer(h, adj)
        return F.normalize(h, dim=-1)

    def graph_for(self, s: Tensor) -> tuple[Tensor, Tensor]:
        """The stored nodes plus the rows of ``s`` (C', D_t) that are not among them ->
        (all node inputs (C_n, D_t), the node index of each row of ``s`` (C',))."""
        nodes = self.nodes
        if len(nodes) == 0:
            return s, torch.arange(len(s), device=s.device)
        cos = F.normalize(s, dim=-1) @ F.normalize(nodes, dim=-1).t()
        best, where = cos.max(dim=1)
        new = best < SAME_NODE
        if new.any():
            where = where.clone()
            where[new] = len(nodes) + torch.arange(int(new.sum()), device=s.device)
            nodes = torch.cat([nodes, s[new]])
        return nodes, where

    def class_embeddings(self, ad: Tensor, vc: Tensor) -> Tensor:
        """ad, vc: (C, D_t) -> (C, D_v) predicted weights of these classes, from the trained graph."""
        nodes, where = self.graph_for(self.class_text(ad, vc))
        return self.propagate(nodes, class_graph(nodes, self.params.graph_k))[where]

    def prep_video(self, x: Tensor) -> Tensor:
        """x: (N, D_v) raw features -> what is dotted with the weights: raw (classifier targets,
        whose input they are) or x~ (class-mean targets)."""
        return x if bool(self.raw_video) else super().prep_video(x)

    def compatibility(self, x: Tensor, w: Tensor) -> Tensor:
        """x: (N, D_v) prepared videos, w: (C, D_v) predicted weights -> (N, C) dot products
        (the base class's :meth:`scores` is ``compatibility(prep_video(x), w)``)."""
        return x @ w.t()

    def forward(self, x: Tensor, ad: Tensor, vc: Tensor, targets: Tensor | None = None, pool_ad: Tensor | None = None,
                pool_vc: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor] | None]:
        """Scores of the videos ``x`` against these classes; the GCN is trained on the class
        graph (:meth:`fit`), not on video batches, so ``targets`` are not accepted."""
        if targets is not None:
            raise RuntimeError("the GCN is trained on the class graph (Gcn.fit), not on video batches")
        return self.compatibility(self.prep_video(x), self.class_embeddings(ad, vc)), None

    def fit_once(self, data: FitData) -> dict[str, Any]:
        """Train on the graph of every class of the split (seen, val, unseen): the seen classes'
        targets (:mod:`~actionhub.models.baselines.gcn_targets`) are regressed, the val classes
        choose the epoch. Returns what run.json records."""
        from actionhub.models.baselines.gcn_targets import class_mean_targets, load_targets

        p = self.params
        classes = list(dict.fromkeys([*data.seen, *data.val, *data.unseen]))
        s = self.class_text(*data.text(classes))
        if p.targets:
            targets, have, tinfo = load_targets(p.targets, p.targets_classes, data.seen, self.visual_dim)
        else:
            mu = self.x_mean.detach().cpu().numpy().astype(np.float64)
            targets, have = class_mean_targets(data.train_x, data.train_y, len(data.seen), mu)
            tinfo = {"kind": "mean of the centred, unit training features of each seen class",
                     "seen_with_target": int(len(have))}
        validate = (lambda: data.val_top1(self)) if data.select_on_val else None
        bar = data.bar(p.epochs, "gcn", "epoch")
        try:
            info = self.fit(s, torch.as_tensor(have, device=data.device), torch.as_tensor(targets, device=data.device),
                            raw_video=bool(p.targets), validate=validate, progress=lambda _e: bar.update(1))
        finally:
            bar.close()
        info["targets"] = tinfo
        info["video_input"] = ("raw feature (the classifier's input)" if p.targets
                               else "centred, unit feature x~ (as the targets)")
        info["node_inputs"] = {
            "class_text": self.cfg.class_text, "alpha": self.cfg.fusion_alpha(),
            "k": data.k if self.cfg.class_text != "ad" else None,
            "text_features": data.text_meta.get("path", "<in memory>"), "encoder": data.text_meta.get("encoder"),
            "definition_template": data.text_meta.get("definition_template"),
            "classes": "seen + val + unseen of the split",
        }
        log.info("gcn: %d nodes, %d seen targets (%s), loss %.4f -> %.4f, selected epoch %d", len(classes), len(have),
                 tinfo["kind"], info["loss"][0], info["loss"][-1], info["selected_epoch"])
        how = data.validation_note   # carved val classes, or a refit
        selection = (how if how and how.startswith("refit")
                     else f"graph epochs: {info['epoch_selection']}" + (f"; {how}" if how else ""))
        return {"fit": info, "epoch_selection": selection, "selected_epoch": info["selected_epoch"]}

    @classmethod
    def refit(cls, selection: Mapping[str, Any]) -> Refit:
        """Train the graph again on all seen classes for the epochs selected on val."""
        epochs = int(selection["fit"]["selected_epoch"]) + 1
        return Refit(info={"refit_epochs": epochs}, method_params={"epochs": epochs})

    def fit(self, s: Tensor, seen_nodes: Tensor, targets: Tensor, *, raw_video: bool,
            validate: Callable[[], float] | None = None,
            progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Train on the graph of the node inputs ``s: (C, D_t)``: the outputs at ``seen_nodes: (S,)``
        regress ``targets: (S, D_v)``. ``validate()`` returns the val top-1 of the current weights
        (called every ``val_every`` epochs and at the end; the best epoch is kept). Returns the
        per-epoch losses and what was selected, for run.json."""
        p = self.params
        self.nodes = s.detach().clone()
        self.raw_video.fill_(raw_video)
        adj = class_graph(s, p.graph_k)
        opt = torch.optim.Adam(self.parameters(), lr=p.lr, weight_decay=p.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p.epochs)
        losses: list[float] = []
        best: dict[str, Any] = {"epoch": p.epochs - 1, "val_top1": None, "state": None}
        val_hist: list[dict[str, float]] = []
        for epoch in range(p.epochs):
            self.train()
            loss = gcn_loss(self.propagate(s, adj)[seen_nodes], targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.item()))
            if progress is not None:
                progress(epoch)
            if validate is not None and ((epoch + 1) % p.val_every == 0 or epoch == p.epochs - 1):
                self.eval()
                top1 = float(validate())
                val_hist.append({"epoch": epoch, "val_top1": round(top1, 4)})
                if best["val_top1"] is None or top1 > best["val_top1"]:
                    best = {"epoch": epoch, "val_top1": top1,
                            "state": {k: v.detach().clone() for k, v in self.state_dict().items()}}
        if best["state"] is not None:
            self.load_state_dict(best["state"])
        self.eval()
        degree = (adj > 0).sum(dim=1).float()
        return {
            "solver": "full-graph Adam, cosine-annealed lr",
            "epochs": p.epochs,
            "selected_epoch": best["epoch"],
            "epoch_selection": "val (every %d epochs)" % p.val_every if validate is not None else "last",
            "loss": [round(v, 6) for v in losses],
            "val": val_hist,
            "graph": {"nodes": int(s.shape[0]), "k": p.graph_k, "edges": int((adj > 0).sum().item()),
                      "mean_degree": round(float(degree.mean()), 3)},
        }
