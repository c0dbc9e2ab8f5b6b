"""Extract the UCF101/HMDB51 class-name lists from Xu et al.'s Label.mat.

Writes ``src/actionhub/data/xu/class_names.json`` so the 738 KB Label.mat (per-video labels
and word vectors) does not have to be shipped. Usage::

    python scripts/extract_xu_class_names.py /work/shared/data/xu/Label.mat
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import scipy.io

OUT = Path(__file__).resolve().parents[1] / "src" / "actionhub" / "data" / "xu" / "class_names.json"


def extract(label_mat: Path) -> dict:
    """Return ``{"source": {...}, "UCF101": [...], "HMDB51": [...]}`` read from ``label_mat``."""
    mat = scipy.io.loadmat(str(label_mat), squeeze_me=True, struct_as_record=False)
    video_label = mat["VideoLabel"]
    out: dict = {
        "source": {
            "file": "Label.mat (VideoLabel.<dataset>.ClassName)",
            "sha256": hashlib.sha256(label_mat.read_bytes()).hexdigest(),
        }
    }
    for dataset in ("UCF101", "HMDB51"):
        out[dataset] = [str(name) for name in getattr(video_label, dataset).ClassName]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label_mat", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.write_text(json.dumps(extract(args.label_mat), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
