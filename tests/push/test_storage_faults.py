"""Reports directory full (ENOSPC) or not writable: a clear 507 or 503, the previous latest
file intact, no partial or temporary file left. The one writer (app/core/files.py) is made to
fail through os.write / os.open / os.replace, only for files under the test's data dir."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.errors import InsufficientStorage, StorageNotWritable
from app.core.files import append_jsonl, write_json_atomic
from app.push.paths import OUTBOX_LATEST
from tests.push.helpers import OP, outbox, queue

_real_write, _real_open, _real_replace = os.write, os.open, os.replace


def _under(root: Path, target: Any) -> bool:
    return str(target).startswith(str(root))


def _fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _fail_writes(monkeypatch: pytest.MonkeyPatch, root: Path, code: int) -> None:
    def write(fd: int, data: Any) -> int:
        if _under(root, _fd_path(fd)):
            raise OSError(code, os.strerror(code))
        return _real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


def _fail_creates(monkeypatch: pytest.MonkeyPatch, root: Path, code: int) -> None:
    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT and _under(root, path):
            raise OSError(code, os.strerror(code), str(path))
        return _real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_)


def _fail_replace(monkeypatch: pytest.MonkeyPatch, root: Path, code: int) -> None:
    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if _under(root, dst):
            raise OSError(code, os.strerror(code), str(src), None, str(dst))
        _real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


FAULTS: dict[str, tuple[Callable[[pytest.MonkeyPatch, Path, int], None], int, int]] = {
    "disk full on write": (_fail_writes, errno.ENOSPC, 507),
    "quota exceeded on write": (_fail_writes, errno.EDQUOT, 507),
    "disk full on rename": (_fail_replace, errno.ENOSPC, 507),
    "directory not writable": (_fail_creates, errno.EACCES, 503),
    "read-only mount": (_fail_creates, errno.EROFS, 503),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_outbox_run_on_a_failing_disk_answers_clearly_and_keeps_the_latest(
    client: httpx.AsyncClient, data_dir: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    await queue(client)
    first = await outbox(client)
    latest = data_dir / OUTBOX_LATEST
    before = _files(data_dir)
    assert latest.read_bytes() == before[OUTBOX_LATEST]

    inject, code, status = FAULTS[fault]
    inject(monkeypatch, data_dir, code)
    await queue(client, title="second")
    answer = await client.post("/api/push/outbox/run", headers=OP)
    monkeypatch.undo()

    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert ("storage full" if status == 507 else "not writable") in detail
    assert str(data_dir) not in detail  # a file name, never the server's paths
    if status == 503:
        assert answer.headers["retry-after"] == "30"
    after = _files(data_dir)
    assert after == before  # the latest file intact, nothing partial, no temporary file
    # and once the disk is back, the next run writes a new latest
    await outbox(client)
    assert latest.read_bytes() != before[OUTBOX_LATEST]
    assert first["outbox_id"] not in latest.read_text()


async def test_ticket_submit_on_a_full_disk_is_507_and_appends_nothing(
    client: httpx.AsyncClient, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"request_type": "REQUEST_RECONCILE", "payload": {"mode": "FULL", "reason": "drift"}}
    assert (await client.post("/api/tickets", json=body, headers=OP)).status_code == 201
    before = _files(data_dir)
    _fail_writes(monkeypatch, data_dir, errno.ENOSPC)
    answer = await client.post("/api/tickets", json=body, headers=OP)
    monkeypatch.undo()
    assert answer.status_code == 507, answer.text
    assert _files(data_dir) == before  # no torn line appended
    assert (await client.post("/api/tickets", json=body, headers=OP)).status_code == 201


def test_the_errors_are_oserrors_for_callers_that_survive_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_writes(monkeypatch, tmp_path, errno.ENOSPC)
    with pytest.raises(InsufficientStorage) as full:
        write_json_atomic(tmp_path / "x.json", {"a": 1})
    assert isinstance(full.value, OSError)
    monkeypatch.undo()
    _fail_creates(monkeypatch, tmp_path, errno.EACCES)
    with pytest.raises(StorageNotWritable):
        append_jsonl(tmp_path / "log.jsonl", {"a": 1})
    monkeypatch.undo()
    _fail_writes(monkeypatch, tmp_path, errno.EIO)
    with pytest.raises(OSError, match="Input/output") as other:  # anything else: as it was
        write_json_atomic(tmp_path / "x.json", {"a": 1})
    assert other.type is OSError
    assert list(tmp_path.iterdir()) == []
