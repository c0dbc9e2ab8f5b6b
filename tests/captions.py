"""A few hand-written stock-footage style captions (SYNTHETIC: not from any site), for the tests of
descriptions on the fly (test_describe.py) and of predict --corpus (test_predict.py)."""
from __future__ import annotations

CAPTIONS = [
    ("h1", "Woman riding a horse along the beach at sunset"),
    ("h2", "Cowboy rides his horse across the prairie"),
    ("h3", "A rider riding his horse over a fence, slow motion"),
    ("h4", "Girl riding horses in a field with her friends"),
    ("g1", "Man playing acoustic guitar on a sofa"),
    ("g2", "Teen plays electric guitar on stage, concert lights"),
    ("p1", "Young man doing push ups in the gym, close up"),
    ("p2", "Sporty woman does push-ups on a yoga mat at home"),
    ("j1", "Street artist juggling balls in the park"),
    ("j2", "Clown juggles three balls at a party"),
    ("s1", "Athlete swimming laps in an indoor pool"),
    ("x1", "Aerial view of the city at night"),
]


def write_captions(path, rows=CAPTIONS, columns=("videoid", "name")):
    """``rows`` as a WebVid-style CSV (``columns``: the id and caption column names)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    pcsv.write_csv(pa.table({columns[0]: [r[0] for r in rows], columns[1]: [r[1] for r in rows]}), path)
    return path
