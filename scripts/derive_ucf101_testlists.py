"""Write UCF101's three official test lists (``ucfTrainTestlist/testlist0N.txt``) from Xu et al.'s Label.mat.

UCF101's official splits are defined by the group of each video (``v_<Class>_gGG_cCC.avi``):
split N tests groups 7N-6 .. 7N (split 1: groups 1-7, split 2: 8-14, split 3: 15-21) and trains
on the other groups. Label.mat lists all 13,320 videos with their class, so the lists follow from
it: ``Class/v_Class_gGG_cCC.avi`` lines, classes in the official classInd order, videos in name
order within a class, CRLF line ends and no newline after the last line -- the release's bytes
(checked against a public copy of the release files, see src/actionhub/data/PROVENANCE.md).
Writes ``src/actionhub/data/ucf101/testlist0{1,2,3}.txt.gz`` (gzip level 9, no name or time
stamp, so reruns are byte-identical). Usage::

    python scripts/derive_ucf101_testlists.py /work/shared/data/xu/Label.mat
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
from pathlib import Path

import scipy.io

OUT = Path(__file__).resolve().parents[1] / "src" / "actionhub" / "data" / "ucf101"
_GROUP = re.compile(r"_g(\d\d)_c\d\d\.avi$")


def test_lists(label_mat: Path) -> list[bytes]:
    """The bytes of testlist01..03.txt derived from ``label_mat``."""
    ucf = scipy.io.loadmat(str(label_mat), squeeze_me=True, struct_as_record=False)["VideoLabel"].UCF101
    classes = [str(c) for c in ucf.ClassName]
    videos = sorted((int(label), str(name)) for name, label in zip(ucf.VideoName, ucf.Label, strict=True))
    out = []
    for split in (1, 2, 3):
        groups = range(7 * split - 6, 7 * split + 1)
        lines = [f"{classes[label - 1]}/{name}" for label, name in videos
                 if int(_GROUP.search(name).group(1)) in groups]
        out.append("\r\n".join(lines).encode("ascii"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label_mat", type=Path)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(test_lists(args.label_mat), 1):
        (args.out / f"testlist0{n}.txt.gz").write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        digest = hashlib.sha256(data).hexdigest()
        print(f"testlist0{n}.txt: {data.count(b'/')} videos, {len(data)} bytes, sha256 {digest}")


if __name__ == "__main__":
    main()
