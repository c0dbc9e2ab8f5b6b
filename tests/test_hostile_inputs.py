"""Hostile input, text and dataset side (issue 11): files that are not UTF-8, numbers out of range,
an output file that is a folder, a full disk during collect, a corrupt text-encoding cache shard and
a server that trickles its reply. One table: every case runs the real CLI in-process and checks the
exit status, that no traceback escapes (an uncaught exception is one) and that what was finished
before is still there, byte for byte. All data here is SYNTHETIC."""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pytest

from actionhub import text as T
from actionhub.cli import main
from actionhub.dataset.store import Store, read_store
from actionhub.text.class_text import load_class_text

sys.path.insert(0, str(Path(__file__).parent))
from fakeapi import TOKEN, FakeVideoAPI  # noqa: E402

pytestmark = pytest.mark.timeout(120)
BAD = "caf\xe9 au lait".encode("latin-1")  # "café au lait" saved as Latin-1: byte 0xE9 is not UTF-8


class HostileHash(T.TextEncoder):
    """Deterministic 6-d SYNTHETIC features from the SHA-1 of the text; counts the texts it encodes."""

    encoded = 0

    def __init__(self, arg: str) -> None:
        self.spec, self.id, self.dim, self.normalized = f"hostilehash:{arg}", f"hostilehash:{arg}", 6, False

    def encode(self, texts, batch_size=64):
        HostileHash.encoded += len(texts)
        return (np.stack([np.frombuffer(hashlib.sha1(t.encode()).digest()[:6], np.uint8).astype(np.float32)
                          for t in texts]) if texts else np.zeros((0, 6), np.float32))


T.register_encoder("hostilehash", HostileHash, help="test encoder", replace=True)


# ----------------------------------------------------------------------------- helpers
@dataclass
class Ctx:
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    caplog: pytest.LogCaptureFixture


@dataclass
class Case:
    args: list[str]
    expect: str  # in the output (stdout + stderr)
    code: int = 2
    keep: list[Path] = field(default_factory=list)  # finished output that must stay byte for byte
    absent: list[Path] = field(default_factory=list)  # output that must not appear
    after: Optional[Callable[[str], None]] = None  # further checks, given the output


def cli(args: list[str], capsys) -> tuple[object, str]:
    """Exit status and stdout + stderr of the CLI; an exception escaping main() is a traceback."""
    try:
        code: object = main(args)
    except SystemExit as e:  # argparse
        code = e.code
    except Exception:  # noqa: BLE001 - exactly what the user would see as a traceback
        code = "uncaught exception"
        print(traceback.format_exc(), file=sys.stderr)
    out, err = capsys.readouterr()
    return code, out + err


def snapshot(paths: list[Path]) -> dict[str, bytes]:
    files = {}
    for p in paths:
        for f in sorted([p] if p.is_file() else p.rglob("*")):
            if f.is_file() and f.name != "lock":
                files[str(f)] = f.read_bytes()
    return files


def store_with_rows(c: Ctx) -> Path:
    """A small store made by `actionhub import` (SYNTHETIC descriptions)."""
    src = c.tmp / "released.json"
    src.write_text(json.dumps({"ride horse": ["A man rides a horse on the beach.", "Kids ride ponies."],
                               "play guitar": ["A woman plays the guitar."]}), encoding="utf-8")
    assert main(["import", str(src), "--out", str(c.tmp / "store"), "--no-progress"]) == 0
    return c.tmp / "store"


def corpus(c: Ctx) -> Path:
    p = c.tmp / "captions.csv"
    p.write_text("videoid,name\nv1,a man rides a horse\nv2,a woman plays guitar\n", encoding="utf-8")
    return p


def latin1(path: Path, head: bytes = b"") -> Path:
    path.write_bytes(head + BAD + b"\n")
    return path


def word_vectors(c: Ctx) -> Path:
    p = c.tmp / "vectors.txt"
    p.write_text("ride 1 0 0\nhorse 1 1 0\nplay 0 1 1\nguitar 0 0 1\nman 1 0 1\nwoman 0 1 0\n", encoding="utf-8")
    return p


def collect_args(c: Ctx, store: Path) -> list[str]:
    c.monkeypatch.setenv("SHUTTERSTOCK_API_TOKEN", TOKEN)
    q = c.tmp / "q.txt"
    q.write_text("ride horse\n", encoding="utf-8")
    return ["collect", "--provider", "shutterstock", "--base-url", "http://127.0.0.1:9", "--queries", str(q),
            "--out", str(store), "--no-progress", "--max-retries", "0"]


def text_features_args(c: Ctx, out: Path) -> list[str]:
    return ["text-features", "--benchmark", "hmdb51", "--encoder", "hostilehash:t", "--cache", str(c.tmp / "cache"),
            "--out", str(out), "--no-progress"]


# ----------------------------------------------------------------------------- 1. not UTF-8
def utf8_collect_queries(c: Ctx) -> Case:
    store = store_with_rows(c)
    q = latin1(c.tmp / "queries.txt", b"ride horse\n")
    return Case(["collect", "--provider", "local", "--corpus", str(corpus(c)), "--queries", str(q), "--out", str(store),
                 "--no-progress"], f"queries file {q} is not UTF-8 text: byte 0xE9 on line 2", keep=[store])


def utf8_stats_queries_csv(c: Ctx) -> Case:
    store = store_with_rows(c)
    q = latin1(c.tmp / "queries.csv", b"query,num_sources\nride horse,1\n")
    return Case(["stats", str(store), "--queries", str(q), "--plots", str(c.tmp / "plots")],
                "is not UTF-8 text: byte 0xE9 on line 3", keep=[store], absent=[c.tmp / "plots"])


def utf8_import_jsonl(c: Ctx) -> Case:
    store = store_with_rows(c)
    bad = c.tmp / "more.jsonl"
    bad.write_bytes(b'{"action": "swim", "description": "A boy swims."}\n{"action": "swim", "description": "'
                    + BAD + b'"}\n')
    return Case(["import", str(bad), "--out", str(store), "--no-progress"],
                f"file to import {bad} is not UTF-8 text: byte 0xE9 on line 2", keep=[store])


def utf8_import_into_a_new_store(c: Ctx) -> Case:
    bad = c.tmp / "more.jsonl"
    bad.write_bytes(b'{"action": "swim", "description": "' + BAD + b'"}\n')
    return Case(["import", str(bad), "--out", str(c.tmp / "new_store"), "--no-progress"],
                f"file to import {bad} is not UTF-8 text", absent=[c.tmp / "new_store"])


def utf8_import_json(c: Ctx) -> Case:
    store = store_with_rows(c)
    bad = c.tmp / "more.json"
    bad.write_bytes(b'{"swim": ["' + BAD + b'"]}')
    return Case(["import", str(bad), "--out", str(store), "--no-progress"],
                "is not UTF-8 text: byte 0xE9 on line 1 (byte offset 14)", keep=[store])


def utf8_train_labels(c: Ctx) -> Case:
    np.save(c.tmp / "f.npy", np.zeros((2, 8), np.float32))
    labels = latin1(c.tmp / "labels.txt", b"ApplyEyeMakeup\n")
    return Case(["train", "--benchmark", "ucf101", "--split", "0", "--features", str(c.tmp / "f.npy"), "--labels",
                 str(labels), "--text-features", str(c.tmp / "tf.npz"), "--out", str(c.tmp / "run"), "--no-progress"],
                f"labels file {labels} is not UTF-8 text: byte 0xE9 on line 2", absent=[c.tmp / "run"])


def _feature_dir(c: Ctx, name: str) -> Path:
    d = c.tmp / "feats"
    d.mkdir()
    for v in ("v1", "v2"):
        np.save(d / f"{v}.npy", np.zeros(8, np.float32))
    return d / name


def utf8_train_video_list(c: Ctx) -> Case:
    vl = latin1(_feature_dir(c, "videos.txt"), b"v1 ApplyEyeMakeup\nv2 ")
    return Case(["train", "--benchmark", "ucf101", "--split", "0", "--features", str(vl.parent), "--text-features",
                 str(c.tmp / "tf.npz"), "--out", str(c.tmp / "run"), "--no-progress"],
                f"video list {vl} is not UTF-8 text: byte 0xE9 on line 2", absent=[c.tmp / "run"])


def utf8_train_metas_jsonl(c: Ctx) -> Case:
    vl = _feature_dir(c, "metas.jsonl")
    vl.write_bytes(b'{"videoname": "v1.mp4", "label": "' + BAD + b'"}\n')
    return Case(["train", "--benchmark", "ucf101", "--split", "0", "--features", str(vl.parent), "--video-list",
                 str(vl), "--text-features", str(c.tmp / "tf.npz"), "--out", str(c.tmp / "run"), "--no-progress"],
                f"video list {vl} is not UTF-8 text", absent=[c.tmp / "run"])


def utf8_predict_actions_file(c: Ctx) -> Case:
    acts = latin1(c.tmp / "actions.txt", b"ride horse\n")
    return Case(["predict", str(c.tmp / "clip.mp4"), "--checkpoint", str(c.tmp / "run"), "--actions-file", str(acts)],
                f"actions file {acts} is not UTF-8 text: byte 0xE9 on line 2 (byte offset 14)")


def utf8_predict_definitions(c: Ctx) -> Case:
    defs = latin1(c.tmp / "defs.tsv", b"run\tmove fast\nbrew\t")
    return Case(["predict", str(c.tmp / "clip.mp4"), "--checkpoint", str(c.tmp / "run"), "--actions", "run,brew",
                 "--definitions", str(defs)], f"definitions file {defs} is not UTF-8 text")


def utf8_vocab_add_file(c: Ctx) -> Case:
    out = c.tmp / "queries.csv"
    out.write_text("query,num_sources,datasets,names\nearlier run,1,x,y\n", encoding="utf-8")
    names = c.tmp / "names.txt"
    names.write_bytes("ÿ".encode("utf-16"))  # a spreadsheet's "Unicode text"
    return Case(["vocab", "build", "--add-file", str(names), "--out", str(out)],
                f"queries file {names} is UTF-16 text, not UTF-8; re-save it as UTF-8 (e.g. `iconv -f utf-16",
                keep=[out])


# ----------------------------------------------------------------------------- 2. numbers and --out
def _collect_flag(flag: str, value: str) -> Callable[[Ctx], Case]:
    def case(c: Ctx) -> Case:
        store = store_with_rows(c)
        return Case(collect_args(c, store) + [flag, value], f"argument {flag}: must be", keep=[store])
    return case


def _text_features_flag(flag: str, value: str) -> Callable[[Ctx], Case]:
    def case(c: Ctx) -> Case:
        out = c.tmp / "tf.npz"
        out.write_bytes(b"an earlier result")
        return Case(text_features_args(c, out) + [flag, value], f"argument {flag}: must be an integer >= 1",
                    keep=[out], absent=[c.tmp / "cache"])
    return case


def stats_top_negative(c: Ctx) -> Case:
    store = store_with_rows(c)
    return Case(["stats", str(store), "--top", "-5"], "argument --top: must be an integer >= 0, got '-5'", keep=[store])


def vocab_limit_negative(c: Ctx) -> Case:
    return Case(["vocab", "show", "--limit", "-1"], "argument --limit: must be an integer >= 0")


def rank_out_is_a_folder(c: Ctx) -> Case:
    store = store_with_rows(c)
    out = c.tmp / "topk"
    out.mkdir()
    (out / "earlier.parquet").write_bytes(b"an earlier result")
    return Case(["rank", str(store), "--out", str(out), "--word-vectors", str(word_vectors(c)), "--no-progress"],
                f"--out {out} is an existing folder", keep=[out, store])


def text_features_out_is_a_folder(c: Ctx) -> Case:
    out = c.tmp / "tf.npz"
    out.mkdir()
    (out / "earlier.npz").write_bytes(b"an earlier result")
    return Case(text_features_args(c, out), f"--out {out} is an existing folder", keep=[out], absent=[c.tmp / "cache"])


# ----------------------------------------------------------------------------- 3. disk full during collect
def collect_disk_full(c: Ctx) -> Case:
    c.monkeypatch.setenv("SHUTTERSTOCK_API_TOKEN", TOKEN)
    api = FakeVideoAPI(videos_per_query=30).__enter__()
    q = c.tmp / "q.txt"
    q.write_text("play guitar\nride horse\n", encoding="utf-8")
    args = ["collect", "--provider", "shutterstock", "--base-url", api.url, "--queries", str(q), "--per-query", "12",
            "--per-page", "5", "--flush-rows", "5", "--no-progress", "--out"]
    assert main(args + [str(c.tmp / "clean")]) == 0  # what an uninterrupted run stores
    clean = sorted(zip(*read_store(c.tmp / "clean").select(["action", "video_id"]).to_pydict().values(), strict=True))

    real, calls, written = Store._write_part, [], []

    def write_part(self, kind, t):  # the disk is full from the third part file on (2nd flush's descriptions)
        calls.append(kind)
        if len(calls) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        path = real(self, kind, t)
        written.append(path)
        return path
    c.monkeypatch.setattr(Store, "_write_part", write_part)

    def after(output: str) -> None:
        kept = read_store(c.tmp / "store")
        assert kept.num_rows == 5 and written and all(p.is_file() for p in written)  # the first flush is kept
        c.monkeypatch.setattr(Store, "_write_part", real)
        try:
            assert main(args + [str(c.tmp / "store")]) == 0  # space again: the rerun resumes
        finally:
            api.__exit__()
        again = sorted(zip(*read_store(c.tmp / "store").select(["action", "video_id"]).to_pydict().values(),
                           strict=True))
        assert again == clean  # nothing lost, nothing twice
    return Case(args + [str(c.tmp / "store")], "the disk is full (no space left on device while writing to the store",
                after=after)


def import_disk_full(c: Ctx) -> Case:
    src = c.tmp / "rows.jsonl"
    src.write_text("".join(json.dumps({"action": a, "description": f"{a} number {i}"}) + "\n"
                           for a in ("swim", "run") for i in range(6)), encoding="utf-8")
    real, calls = Store._write_part, []

    def write_part(self, kind, t):  # the disk is full from the third part file on (the 2nd batch)
        calls.append(kind)
        if len(calls) >= 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, kind, t)
    c.monkeypatch.setattr(Store, "_write_part", write_part)
    args = ["import", str(src), "--out", str(c.tmp / "store"), "--no-progress"]

    def after(output: str) -> None:
        assert read_store(c.tmp / "store").num_rows == 5    # the first batch is kept
        c.monkeypatch.setattr(Store, "_write_part", real)
        assert main(args) == 0                               # space again: the rerun completes it
        assert read_store(c.tmp / "store").num_rows == 12
    c.monkeypatch.setattr("actionhub.dataset.importer.import_released.__wrapped__.__defaults__",
                          ("released", None, 5, True))      # batches of 5 rows
    return Case(args, "the disk is full while importing", after=after)


# ----------------------------------------------------------------------------- 4. corrupt cache shard
def text_cache_shard_truncated(c: Ctx) -> Case:
    first = c.tmp / "first.npz"
    assert main(text_features_args(c, first)) == 0
    shards = sorted((c.tmp / "cache").rglob("shard-*.npy"))
    assert len(shards) == 1
    shards[0].write_bytes(shards[0].read_bytes()[:-100])  # truncated (a full disk, a copy cut short)
    HostileHash.encoded = 0
    c.caplog.set_level(logging.WARNING)

    def after(output: str) -> None:
        assert HostileHash.encoded == 51  # every definition encoded again
        assert any("truncated or corrupt" in r.getMessage() and "encoded again" in r.getMessage()
                   for r in c.caplog.records)
        a, b = load_class_text(first), load_class_text(c.tmp / "second.npz")
        np.testing.assert_array_equal(a.ad, b.ad)
        c.caplog.clear()
        assert main(text_features_args(c, c.tmp / "third.npz")) == 0  # the cache recovered: nothing to encode
        assert HostileHash.encoded == 51 and not [r for r in c.caplog.records if r.name == "actionhub.text.cache"]
    return Case(text_features_args(c, c.tmp / "second.npz"), "wrote", code=0, keep=[first], after=after)


# ----------------------------------------------------------------------------- 5. a server that trickles
class TricklingServer:
    """127.0.0.1 server that sends its headers and then one body byte every 0.2 s (SYNTHETIC)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                if self.stop.is_set():
                    break
                conn.sendall(b" ")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def collect_trickling_server(c: Ctx) -> Case:
    store = store_with_rows(c)
    server = TricklingServer()
    args = collect_args(c, store)
    args[args.index("--base-url") + 1] = server.url
    started = time.monotonic()

    def after(output: str) -> None:
        server.close()
        assert time.monotonic() - started < 6  # the old per-read timeout held it for 200 s
    # a failed query is exit status 1 (documented: rerun to retry); the rows stored before stay
    return Case(args + ["--timeout", "1"], "no complete reply within 1 s", code=1, keep=[store / "descriptions",
                store / "hits"], after=after)


CASES = {f.__name__: f for f in [
    utf8_collect_queries, utf8_stats_queries_csv, utf8_import_jsonl, utf8_import_into_a_new_store, utf8_import_json,
    utf8_train_labels,
    utf8_train_video_list, utf8_train_metas_jsonl, utf8_predict_actions_file, utf8_predict_definitions,
    utf8_vocab_add_file,
    stats_top_negative, vocab_limit_negative, rank_out_is_a_folder, text_features_out_is_a_folder,
    collect_disk_full, import_disk_full, text_cache_shard_truncated, collect_trickling_server,
]}
CASES.update({
    "collect_max_retries_-1": _collect_flag("--max-retries", "-1"),
    "collect_timeout_0": _collect_flag("--timeout", "0"),
    "collect_timeout_-2": _collect_flag("--timeout", "-2"),
    "collect_timeout_nan": _collect_flag("--timeout", "nan"),
    "collect_max_pages_0": _collect_flag("--max-pages", "0"),
    "collect_budget_-1": _collect_flag("--budget", "-1"),
    "text_features_batch_size_0": _text_features_flag("--batch-size", "0"),
    "text_features_batch_size_-3": _text_features_flag("--batch-size", "-3"),
})


SLOW_CASES = {"collect_trickling_server"}  # a server that sends a byte at a time until the timeout


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_CASES else n for n in CASES])
def test_hostile_input(name, tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    case = CASES[name](Ctx(tmp_path, monkeypatch, caplog))
    capsys.readouterr()
    before = snapshot(case.keep)
    code, output = cli(case.args, capsys)
    assert "Traceback" not in output, output
    assert code == case.code, output
    assert case.expect in output, output
    assert snapshot(case.keep) == before  # nothing finished was lost or changed
    for p in case.absent:
        assert not p.exists(), p
    if case.after is not None:
        case.after(output)


@pytest.mark.slow
def test_the_real_command_prints_one_line_and_no_traceback(tmp_path):
    """Outside pytest: `actionhub import` of a Latin-1 file prints one error line, exit status 2."""
    bad = tmp_path / "released.jsonl"
    bad.write_bytes(b'{"action": "swim", "description": "' + BAD + b'"}\n')
    import actionhub

    env = {**os.environ, "PYTHONPATH": str(Path(actionhub.__file__).parents[1])}  # the actionhub under test
    run = "import sys; from actionhub.cli import main; sys.exit(main())"
    r = subprocess.run([sys.executable, "-c", run, "import", str(bad), "--out", str(tmp_path / "s"), "--no-progress"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "is not UTF-8 text: byte 0xE9 on line 1" in r.stderr


def test_first_non_utf8_finds_the_byte_across_chunks(tmp_path, monkeypatch):
    import actionhub.utils.textfile as tf
    from actionhub.utils.textfile import first_non_utf8, read_text_file

    p = tmp_path / "x.txt"
    p.write_bytes(b"ab\n" + "é".encode() * 5 + b"\n" + BAD)  # valid 2-byte characters straddle the chunks
    monkeypatch.setattr(tf, "_CHUNK", 3)
    assert first_non_utf8(p) == (17, 3, b"\xe9")
    p.write_bytes("ok é\n".encode())
    assert first_non_utf8(p) is None and read_text_file(p) == "ok é\n"
    p.write_bytes(b"ends mid-character \xc3")
    assert first_non_utf8(p) == (19, 1, b"\xc3")


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_line(tmp_path):
    from actionhub.utils.textfile import open_text_file, read_text_file

    p = tmp_path / "queries.csv"
    p.write_bytes("\ufeffplay guitar\nride horse\n".encode("utf-8"))   # "CSV UTF-8" as spreadsheets save it
    assert read_text_file(p).splitlines() == ["play guitar", "ride horse"]
    with open_text_file(p) as fh:
        assert fh.readline() == "play guitar\n"
