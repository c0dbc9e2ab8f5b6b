"""Progress bars: live in a terminal, quiet in a log file."""

import io

import pytest

from actionhub.utils import progress


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize("tty", [True, False])
def test_transient_bars_are_off_in_logs_only(monkeypatch, tty):
    stream = _Stream(tty)
    monkeypatch.setattr(progress.sys, "stderr", stream)
    bar = progress.progress_bar(range(3), transient=True, file=stream, desc="epoch")
    assert bar.disable is (not tty)
    assert list(bar) == [0, 1, 2]
    bar.close()
    assert ("epoch" in stream.getvalue()) is tty


def test_log_bar_redraws_rarely(monkeypatch):
    stream = _Stream(False)
    monkeypatch.setattr(progress.sys, "stderr", stream)
    bar = progress.progress_bar(total=1000, file=stream, desc="ranking")
    for _ in range(1000):
        bar.update(1)
    bar.close()
    assert bar.mininterval >= progress.LOG_INTERVAL_S
    # the opening line and the final count, not one line per update
    assert stream.getvalue().count("\r") <= 3
    assert "1000/1000" in stream.getvalue()


def test_disabled_bar_writes_nothing(monkeypatch):
    stream = _Stream(True)
    monkeypatch.setattr(progress.sys, "stderr", stream)
    bar = progress.progress_bar(range(5), enabled=False, file=stream)
    assert sum(bar) == 10
    assert stream.getvalue() == ""
