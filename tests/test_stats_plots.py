"""Fig. 5's "fewest descriptions" panel and text (actionhub.dataset.stats_plots).

Every store here holds SYNTHETIC, hand-made descriptions (and says so in its note).
"""
import pytest

from actionhub.dataset.stats import compute_stats
from actionhub.dataset.stats_plots import fewest_described, format_stats, write_plots
from actionhub.dataset.store import append

NOTE = "SYNTHETIC: hand-made descriptions"


def _store(path, counts):
    """A store where action ``name`` has ``counts[name]`` descriptions of one sentence each."""
    vid = 0
    for name, n in counts.items():
        append(path, [{"action": name, "provider": "fake", "video_id": str(vid + i),
                       "description": f"A person does {name}."} for i in range(n)], note=NOTE)
        vid += n
    return path


@pytest.fixture()
def capture(monkeypatch):
    """Keep the Fig. 5 matplotlib Figure that write_plots draws (instead of only a PNG)."""
    import actionhub.dataset.stats_plots as sp

    figs = []
    real = sp._save

    def save(fig, path):
        figs.append(fig)
        real(fig, path)

    monkeypatch.setattr(sp, "_save", save)
    return figs


def _bottom_panel(fig):
    ax = fig.axes[1]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    text = " ".join(t.get_text() for t in ax.texts) + " " + ax.get_title() + " " + ax.get_xlabel()
    return ax, labels, widths, text


@pytest.mark.slow
def test_all_zero_bottom_shows_the_fewest_described_actions(tmp_path, capture):
    # 12 actions with 1..12 descriptions; 25 queried actions have none, so the bottom-20 of
    # compute_stats is all zeros. The top list holds every described action, so the panel can
    # show the fewest of them.
    counts = {f"act{i:02d}": i for i in range(1, 13)}
    queries = list(counts) + [f"nothing{i:02d}" for i in range(25)]
    st = compute_stats(_store(tmp_path / "s", counts), queries=queries, top=40, bottom=20)
    assert all(n == 0 for _, n, _ in st["bottom"])                     # the case that drew an all-zero plot

    few = fewest_described(st)
    assert [r[0] for r in few["rows"]] == list(counts) and few["without"] == 25 and few["missing"] == 0
    write_plots(st, tmp_path / "p")
    ax, labels, widths, text = _bottom_panel(capture[1])
    assert labels == list(counts) and sorted(widths) == list(range(1, 13)) and min(widths) > 0
    assert ax.get_xlim()[0] == 0 and ax.get_xlim()[1] > 12              # not the degenerate -0.06..0.06 axis
    assert "25 queried action(s) with no description" in text
    assert not any(n == 0 for _, n, _ in compute_stats(tmp_path / "s", queries=queries)["top"][:12])
    txt = format_stats(st)
    assert "fewest among the actions with descriptions (Fig. 5): act01 (1), act02 (2)" in txt


@pytest.mark.slow
def test_when_the_fewest_described_are_unknown_the_panel_says_so(tmp_path, capture):
    # 50 described actions (more than the top-5 list) and 30 queries without any: neither list
    # holds the fewest described actions, so the panel draws no bars and says what to run.
    counts = {f"act{i:02d}": 1 + i % 7 for i in range(50)}
    queries = list(counts) + [f"nothing{i:02d}" for i in range(30)]
    st = compute_stats(_store(tmp_path / "s", counts), queries=queries, top=5, bottom=20)
    few = fewest_described(st)
    assert few["rows"] == [] and few["missing"] == 20 and few["without"] == 30
    write_plots(st, tmp_path / "p")
    ax, labels, widths, text = _bottom_panel(capture[1])
    assert widths == [] and not ax.axison
    assert "have none" in text and "30 of 80 queried actions" in text and "--bottom 50" in text
    assert "1 description(s)" in text and "held by 8 action(s)" in text   # lowest non-zero bin of Fig. 4
    assert "--bottom 50 to list them" in format_stats(st)


@pytest.mark.slow
def test_partly_zero_bottom_keeps_the_described_ones_and_counts_the_rest(tmp_path, capture):
    counts = {f"act{i:02d}": 2 + i for i in range(50)}
    queries = list(counts) + ["nothing1", "nothing2"]
    st = compute_stats(_store(tmp_path / "s", counts), queries=queries, top=5, bottom=6)
    few = fewest_described(st)
    assert [r[1] for r in few["rows"]] == [2, 3, 4, 5] and few["missing"] == 2
    write_plots(st, tmp_path / "p")
    _, labels, widths, text = _bottom_panel(capture[1])
    assert labels == ["act00", "act01", "act02", "act03"] and widths == [2, 3, 4, 5]
    assert "2 queried action(s) with no description" in text and "2 more" in text


@pytest.mark.slow
def test_without_queries_the_bottom_list_is_drawn_as_it_is(tmp_path, capture):
    counts = {"a": 3, "b": 1, "c": 2}
    st = compute_stats(_store(tmp_path / "s", counts), bottom=2)
    assert fewest_described(st) == {"rows": [["b", 1, 1], ["c", 2, 2]], "without": 0, "missing": 0}
    write_plots(st, tmp_path / "p")
    _, labels, widths, text = _bottom_panel(capture[1])
    assert labels == ["b", "c"] and widths == [1, 2] and "no description" not in text
    assert NOTE in capture[1]._suptitle.get_text()
    assert "bottom-2 actions by descriptions (Fig. 5): b (1), c (2)" in format_stats(st)
