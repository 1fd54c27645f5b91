"""`scarce fetch`: download with resume, sha256 verification, safe unpacking, manual sources.

Everything is served by a local http.server on 127.0.0.1 (random port, own thread, shut down after the
test); a guard makes any other connection fail the test, and proxies are cleared from the environment.
"""
from __future__ import annotations

import hashlib
import io
import re
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from benchmark import PROJECT_ROOT
from benchmark.cli import main as scarce_main
from benchmark.data import create_dataset
from benchmark.data.archive import FetchError, safe_unpack
from benchmark.data.catalogue import SOURCES, Source
from benchmark.data.fetch import MANUAL_EXIT, fetch

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """No proxy, and no connection anywhere but 127.0.0.1."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        assert address[0] == "127.0.0.1", f"test tried to reach {address}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


class Handler(BaseHTTPRequestHandler):
    """Serves `server.files` ({path: bytes}); honours `Range: bytes=N-` with 206 unless `server.ranges` is off."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = self.server.files.get(self.path)
        rng = self.headers.get("Range")
        self.server.requests.append((self.path, rng))
        if body is None:
            self.send_error(404)
            return
        start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1)) if rng and self.server.ranges else 0
        if start >= len(body) and start:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        cut = self.server.cut.pop(self.path, None)  # send only this many bytes, then drop the connection
        self.wfile.write(body[start:] if cut is None else body[start:start + cut])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.requests, srv.ranges, srv.cut = {}, [], True, {}
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def png_bytes(value: int, size: int = 16, ext: str = "png") -> bytes:
    arr = np.full((size, size), value, np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="BMP" if ext == "bmp" else ext.upper())
    return buf.getvalue()


def ksdd_members() -> dict[str, bytes]:
    """A miniature KolektorSDD tree: two kos folders, one defective part each."""
    out = {}
    for k, folder in enumerate(("kos01", "kos02")):
        for n in range(3):
            out[f"KolektorSDD/{folder}/Part{n}.jpg"] = png_bytes(40 + 10 * n + k, ext="jpeg")
            out[f"KolektorSDD/{folder}/Part{n}_label.bmp"] = png_bytes(255 if n == 1 else 0, ext="bmp")
    return out


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def tar_bytes(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source(url: str | None, digest: str | None, filename: str = "ksdd.zip", manual: str = "") -> dict[str, Source]:
    src = Source("kolektorsdd", "KolektorSDD", "kolektorsdd", "https://example.invalid/page", "test",
                 ("kos01",), url=url, filename=filename, sha256=digest, manual=manual)
    return {"kolektorsdd": src}


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_good_download_is_verified_unpacked_and_usable(server, tmp_path, kind):
    data = zip_bytes(ksdd_members()) if kind == "zip" else tar_bytes(ksdd_members())
    server.files[f"/ksdd.{kind}"] = data
    out = io.StringIO()
    rc = fetch("kolektorsdd", tmp_path, sources=source(f"{server.url}/ksdd.{kind}", sha(data), f"ksdd.{kind}"),
               out=out)
    assert rc == 0 and server.requests == [(f"/ksdd.{kind}", None)]
    root = tmp_path / "KolektorSDD"
    assert f"scarce split kolektorsdd dataset.root={root}" in out.getvalue()
    assert (tmp_path / f"ksdd.{kind}").read_bytes() == data and not (tmp_path / f"ksdd.{kind}.part").exists()
    assert create_dataset("kolektorsdd", root=root).counts() == {"defect": 2, "good": 4}
    # a second fetch finds the data in place and touches nothing
    assert fetch("kolektorsdd", tmp_path, sources=source(f"{server.url}/x", sha(data)), out=io.StringIO()) == 0
    assert len(server.requests) == 1


def test_corrupted_download_is_refused_and_deleted(server, tmp_path):
    data = zip_bytes(ksdd_members())
    server.files["/ksdd.zip"] = data[:-10] + b"corrupted!"
    with pytest.raises(FetchError, match="does not match the expected") as e:
        fetch("kolektorsdd", tmp_path, sources=source(f"{server.url}/ksdd.zip", sha(data)), out=io.StringIO())
    assert "deleted it" in str(e.value) and str(tmp_path / "ksdd.zip") in str(e.value)
    assert list(tmp_path.iterdir()) == []  # nothing kept, nothing unpacked


def test_unpinned_source_needs_sha256_and_downloads_nothing(server, tmp_path):
    data = zip_bytes(ksdd_members())
    server.files["/ksdd.zip"] = data
    table = source(f"{server.url}/ksdd.zip", None)
    with pytest.raises(FetchError, match="--sha256"):
        fetch("kolektorsdd", tmp_path, sources=table, out=io.StringIO())
    assert server.requests == [] and list(tmp_path.iterdir()) == []
    assert fetch("kolektorsdd", tmp_path, sha256=sha(data), sources=table, out=io.StringIO()) == 0


def test_md5_pinned_source_is_verified_and_refuses_corruption(server, tmp_path):
    import dataclasses

    data = zip_bytes(ksdd_members())
    src = dataclasses.replace(source(f"{server.url}/ksdd.zip", None)["kolektorsdd"],
                              md5=hashlib.md5(data).hexdigest())
    server.files["/ksdd.zip"] = data[:-10] + b"corrupted!"
    with pytest.raises(FetchError, match="md5 .* does not match the expected"):
        fetch("kolektorsdd", tmp_path, sources={"kolektorsdd": src}, out=io.StringIO())
    assert list(tmp_path.iterdir()) == []
    server.files["/ksdd.zip"] = data
    out = io.StringIO()
    assert fetch("kolektorsdd", tmp_path, sources={"kolektorsdd": src}, out=out) == 0
    assert f"sha256 {sha(data)}; md5 {src.md5}" in out.getvalue()  # the stronger digest is shown for pinning


def test_given_sha256_must_agree_with_a_pinned_one(server, tmp_path):
    table = source(f"{server.url}/ksdd.zip", "a" * 64)
    with pytest.raises(FetchError, match="differs from the pinned sha256"):
        fetch("kolektorsdd", tmp_path, sha256="b" * 64, sources=table, out=io.StringIO())
    assert server.requests == []


@pytest.mark.parametrize("honours_range", [True, False])
def test_resume_after_a_partial_file(server, tmp_path, honours_range):
    data = zip_bytes(ksdd_members())
    server.files["/ksdd.zip"], server.ranges = data, honours_range
    cut = len(data) // 3
    (tmp_path / "ksdd.zip.part").write_bytes(data[:cut])
    assert fetch("kolektorsdd", tmp_path, sources=source(f"{server.url}/ksdd.zip", sha(data)),
                 out=io.StringIO()) == 0
    assert server.requests == [("/ksdd.zip", f"bytes={cut}-")]  # asked for the rest only
    assert (tmp_path / "ksdd.zip").read_bytes() == data  # a server ignoring Range: restarted from 0
    assert (tmp_path / "KolektorSDD" / "kos01" / "Part1_label.bmp").is_file()


def test_complete_partial_file_is_not_downloaded_again(server, tmp_path):
    data = zip_bytes(ksdd_members())
    server.files["/ksdd.zip"] = data
    (tmp_path / "ksdd.zip.part").write_bytes(data)
    assert fetch("kolektorsdd", tmp_path, sources=source(f"{server.url}/ksdd.zip", sha(data)),
                 out=io.StringIO()) == 0
    assert server.requests == [("/ksdd.zip", f"bytes={len(data)}-")]  # 416: already complete


@pytest.mark.parametrize("name, archive, expected", [
    ("dotdot.zip", lambda: zip_bytes({"ok/a.txt": b"a", "../evil.txt": b"x"}), "escapes the target"),
    ("deep.zip", lambda: zip_bytes({"ok/../../evil.txt": b"x"}), "escapes the target"),
    ("absolute.zip", lambda: zip_bytes({"/tmp/evil.txt": b"x"}), "absolute path"),
    ("dotdot.tar.gz", lambda: tar_bytes({"ok/a.txt": b"a", "../evil.txt": b"x"}), "escapes the target"),
    ("link.tar.gz", lambda: tar_bytes({"ok/a.txt": b"a"}, {"ok/out": "../../etc/passwd"}), "is a link"),
])
def test_malicious_archives_are_refused_before_writing(tmp_path, name, archive, expected):
    path = tmp_path / name
    path.write_bytes(archive())
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=expected):
        safe_unpack(path, dest)
    assert list(dest.iterdir()) == [] and not (tmp_path / "evil.txt").exists()


def test_tar_members_pass_tarfiles_data_filter(tmp_path):
    """Special files are refused before anything is written; modes are made safe (tarfile's "data" filter)."""
    def tar_of(*members: tarfile.TarInfo) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            for m in members:
                tf.addfile(m, io.BytesIO(b"a" * m.size))
        return buf.getvalue()

    info = tarfile.TarInfo("ok/a.txt")
    info.size, info.mode = 1, 0o6777  # setuid, setgid, world-writable
    (tmp_path / "modes.tar").write_bytes(tar_of(info))
    safe_unpack(tmp_path / "modes.tar", tmp_path / "modes")
    assert (tmp_path / "modes" / "ok" / "a.txt").stat().st_mode & 0o7022 == 0
    fifo = tarfile.TarInfo("ok/pipe")
    fifo.type = tarfile.FIFOTYPE
    (tmp_path / "fifo.tar").write_bytes(tar_of(info, fifo))
    with pytest.raises(FetchError, match="'ok/pipe': .*special file"):
        safe_unpack(tmp_path / "fifo.tar", tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_archive_with_dotdot_member_is_refused_by_fetch(server, tmp_path):
    data = zip_bytes({**ksdd_members(), "../evil.txt": b"x"})
    server.files["/ksdd.zip"] = data
    to = tmp_path / "to"
    with pytest.raises(FetchError, match=re.escape("'../evil.txt' escapes the target")):
        fetch("kolektorsdd", to, sources=source(f"{server.url}/ksdd.zip", sha(data)), out=io.StringIO())
    assert not (tmp_path / "evil.txt").exists() and not (to / "KolektorSDD").exists()


def test_manual_source_says_what_to_download_then_verifies_the_file(tmp_path):
    data = zip_bytes(ksdd_members())
    table = source(None, sha(data), manual="download it from {page} and save it as {archive}")
    out = io.StringIO()
    assert fetch("kolektorsdd", tmp_path, sources=table, out=out) == MANUAL_EXIT
    assert f"save it as {tmp_path / 'ksdd.zip'}" in out.getvalue() and "https://example.invalid/page" in out.getvalue()
    bad = tmp_path / "elsewhere.zip"
    bad.write_bytes(data + b"junk")
    with pytest.raises(FetchError, match="left it in place"):
        fetch("kolektorsdd", tmp_path, archive=bad, sources=table, out=io.StringIO())
    assert bad.exists()  # a file the user downloaded by hand is never deleted
    (tmp_path / "ksdd.zip").write_bytes(data)
    assert fetch("kolektorsdd", tmp_path, sources=table, out=io.StringIO()) == 0
    assert (tmp_path / "KolektorSDD" / "kos02" / "Part0.jpg").is_file()


def test_every_real_source_is_honest():
    """No invented digests: every pinned sha256 is 64 hex digits; unpinned ones refuse (tested above);
    sources without a direct URL say what to do by hand."""
    for src in SOURCES.values():
        assert src.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", src.sha256), src.name
        assert src.md5 is None or re.fullmatch(r"[0-9a-f]{32}", src.md5), src.name
        assert src.url or src.manual, src.name
    assert SOURCES["mvtec_ad"].url is None and "licence" in SOURCES["mvtec_ad"].manual


def test_mvtec_manual_step_via_the_cli(tmp_path, capsys):
    assert scarce_main(["fetch", "mvtec_ad", "--to", str(tmp_path)]) == MANUAL_EXIT
    text = capsys.readouterr().out
    assert "mvtec_anomaly_detection.tar.xz" in text and "https://www.mvtec.com" in text
    assert scarce_main(["fetch", "no_such_dataset", "--to", str(tmp_path)]) == 2
    assert "known: kolektorsdd" in capsys.readouterr().err


def test_fetch_script_runs():
    proc = subprocess.run([sys.executable, "scripts/fetch_dataset.py", "--help"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--sha256" in proc.stdout


# ------------------------------------------------------------------------------------ issue 17 item 6
def _flip_zip_bytes(data: bytes, member: str, how: str) -> bytes:
    """A zip with `member`'s stored data corrupted (`crc`) or its encryption flag set (`encrypt`)."""
    b = bytearray(data)
    name = member.encode()
    local = b.find(b"PK\x03\x04" + bytes(0), 0)
    while local >= 0:
        n, extra = int.from_bytes(b[local + 26:local + 28], "little"), int.from_bytes(b[local + 28:local + 30], "little")
        if b[local + 30:local + 30 + n] == name:
            if how == "crc":
                b[local + 30 + n + extra] ^= 0xFF
            else:
                b[local + 6] |= 1
            break
        local = b.find(b"PK\x03\x04", local + 4)
    if how == "encrypt":
        cen = b.find(b"PK\x01\x02")
        while cen >= 0:
            n = int.from_bytes(b[cen + 28:cen + 30], "little")
            if b[cen + 46:cen + 46 + n] == name:
                b[cen + 8] |= 1
            cen = b.find(b"PK\x01\x02", cen + 4)
    return bytes(b)


@pytest.mark.parametrize("name, archive, expected", [
    ("file-then-folder.tar.gz", lambda: tar_bytes({"ok/a.txt": b"a", "ok/x": b"file", "ok/x/y.txt": b"y"}),
     "member 'ok/x' is a file and also the folder of 'ok/x/y.txt'"),
    ("bad-crc.zip", lambda: _flip_zip_bytes(zip_bytes({"ok/a.txt": b"a" * 100, "ok/b.txt": b"b" * 100}), "ok/b.txt",
                                            "crc"), "member 'ok/b.txt' could not be read back .*CRC"),
    ("encrypted.zip", lambda: _flip_zip_bytes(zip_bytes({"ok/a.txt": b"a", "ok/b.txt": b"b"}), "ok/b.txt", "encrypt"),
     "member 'ok/b.txt' is encrypted"),
    ("twice.zip", lambda: zip_bytes({"ok/a.txt": b"a", "ok/a.txt ": b"b"}).replace(b"ok/a.txt ", b"ok/a.txt/"),
     "member 'ok/a.txt/' is listed twice"),
])
def test_broken_archives_leave_nothing_behind(tmp_path, name, archive, expected):
    import warnings

    path = tmp_path / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        path.write_bytes(archive())
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=expected) as e:
        safe_unpack(path, dest)
    assert str(path) in str(e.value)
    assert list(dest.iterdir()) == [], f"{dest}: partial files left after a refusal: {list(dest.rglob('*'))}"


def test_decompression_bomb_is_refused_before_writing(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok/zeros.bin", bytes(80 << 20))
    path = tmp_path / "bomb.zip"
    path.write_bytes(buf.getvalue())
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=r"bomb.zip: members unpack to 83886080 bytes from \d+ \(\d+:1\), over the "
                                         r"ratio cap of 100:1"):
        safe_unpack(path, dest)
    assert list(dest.iterdir()) == []
    with pytest.raises(FetchError, match="unpack to 83886080 bytes, over the cap of 1000"):
        safe_unpack(path, dest, max_bytes=1000, max_ratio=10 ** 9)
    assert list(dest.iterdir()) == []


def test_archive_over_existing_data_is_refused_unless_force(tmp_path):
    data = zip_bytes(ksdd_members())
    table = source(None, sha(data))
    (tmp_path / "ksdd.zip").write_bytes(data)
    to = tmp_path / "to"
    mine = to / "KolektorSDD" / "kos01" / "Part0.jpg"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's own file")
    with pytest.raises(FetchError, match=re.escape(f"{to}: already holds KolektorSDD, which unpacking ksdd.zip "
                                                   "would overwrite; refusing (nothing written)") + ".*--force"):
        fetch("kolektorsdd", to, archive=tmp_path / "ksdd.zip", sources=table, out=io.StringIO())
    assert mine.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in to.iterdir()) == ["KolektorSDD"]  # no temporary folder left either
    assert fetch("kolektorsdd", to, archive=tmp_path / "ksdd.zip", sources=table, out=io.StringIO(), force=True) == 0
    assert mine.read_bytes() == ksdd_members()["KolektorSDD/kos01/Part0.jpg"]
    assert sorted(p.name for p in to.iterdir()) == ["KolektorSDD"]


def test_fetch_parser_has_force():
    import argparse

    from benchmark.data.fetch import add_arguments

    args = add_arguments(argparse.ArgumentParser()).parse_args(["kolektorsdd", "--to", "x", "--force"])
    assert args.force is True


def test_truncated_download_is_kept_for_resume(server, tmp_path):
    data = zip_bytes(ksdd_members())
    server.files["/ksdd.zip"], server.cut["/ksdd.zip"] = data, 100
    table = source(f"{server.url}/ksdd.zip", sha(data))
    with pytest.raises(FetchError, match=r"ksdd.zip: download cut short after 100 bytes .*kept .*ksdd.zip.part "
                                         r"\(100 bytes\): rerun to resume"):
        fetch("kolektorsdd", tmp_path, sources=table, out=io.StringIO())
    assert (tmp_path / "ksdd.zip.part").read_bytes() == data[:100] and not (tmp_path / "ksdd.zip").exists()
    assert fetch("kolektorsdd", tmp_path, sources=table, out=io.StringIO()) == 0
    assert server.requests[-1] == ("/ksdd.zip", "bytes=100-")
