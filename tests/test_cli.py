"""The clerk-async command line against the emulator: exports, a killed and resumed import."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clerk_async import cli
from clerk_async.emulator import Emulator

REPO = Path(__file__).resolve().parents[1]
N = 5000


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator().running_in_thread() as emu:
        yield emu


def run(emu: Emulator, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "clerk_async.cli", "--api-url", emu.url, *args],
        cwd=REPO,
        env={**os.environ, "CLERK_SECRET_KEY": emu.secret_key},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def rows(count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        yield {
            "external_id": f"legacy-{i}",
            "email_address": [f"person{i}@example.com"],
            "first_name": f"Person{i}",
            "public_metadata": {"plan": "pro" if i % 2 else "free"},
            "password_digest": "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
            "password_hasher": "bcrypt",
        }


def write_jsonl(path: Path, items: Any) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))


def test_import_killed_halfway_then_resumed_ends_with_exactly_n(
    emulator: Emulator, tmp_path: Path
) -> None:
    source = tmp_path / "users.jsonl"
    write_jsonl(source, rows(N))
    first = run(emulator, "users", "import", str(source))
    deadline = time.monotonic() + 120
    while len(emulator.store.users) < N // 2:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert N // 2 <= len(emulator.store.users) < N  # killed halfway

    code, _, err = finish(run(emulator, "users", "import", str(source)))
    assert code == 0, err
    assert "0 failed" in err
    users = list(emulator.store.users.values())
    assert len(users) == N
    assert len({u["external_id"] for u in users}) == N
    assert {u["external_id"] for u in users} == {f"legacy-{i}" for i in range(N)}

    # Running it once more creates nothing: every row is already there.
    code, _, err = finish(run(emulator, "users", "import", str(source)))
    assert code == 0
    assert len(emulator.store.users) == N

    # The export round-trips into another instance.
    exported = tmp_path / "export.jsonl"
    code, _, err = finish(run(emulator, "users", "export", "--output", str(exported)))
    assert code == 0, err
    lines = exported.read_text().splitlines()
    assert len(lines) == N
    with Emulator().running_in_thread() as other:
        code, _, err = finish(run(other, "users", "import", str(exported)))
        assert code == 0, err
        copied = {u["external_id"]: u for u in other.store.users.values()}
    originals = {u["external_id"]: u for u in users}
    assert copied.keys() == originals.keys()
    for key, original in originals.items():
        copy = copied[key]
        assert copy["first_name"] == original["first_name"]
        assert copy["public_metadata"] == original["public_metadata"]
        assert [e["email_address"] for e in copy["email_addresses"]] == [
            e["email_address"] for e in original["email_addresses"]
        ]


def test_failed_rows_go_to_the_report_and_the_rest_is_imported(
    emulator: Emulator, tmp_path: Path
) -> None:
    source = tmp_path / "users.jsonl"
    source.write_text(
        json.dumps({"external_id": "ok-1", "email_address": ["a@example.com"]})
        + "\n"
        + "not json\n"
        + json.dumps({"external_id": "bad-email", "email_address": ["no-at-sign"]})
        + "\n"
        + json.dumps({"external_id": "ok-2", "email_address": ["b@example.com"], "nonsense": 1})
        + "\n"
        + json.dumps({"external_id": "ok-3", "email_address": ["c@example.com"]})
        + "\n"
    )
    report = tmp_path / "failed.jsonl"
    code, _, err = finish(run(emulator, "users", "import", str(source), "--report", str(report)))
    assert code == 1
    assert "2 created, 0 already there, 3 failed" in err
    failures = [json.loads(line) for line in report.read_text().splitlines()]
    assert [f["line"] for f in sorted(failures, key=lambda f: f["line"])] == [2, 3, 4]
    by_line = {f["line"]: f for f in failures}
    assert by_line[3]["code"] == "form_param_format_invalid"
    assert "nonsense" in by_line[4]["error"]
    assert {u["external_id"] for u in emulator.store.users.values()} == {"ok-1", "ok-3"}


def test_export_organizations_and_memberships(emulator: Emulator, tmp_path: Path) -> None:
    with emulator.sync_client() as clerk:
        owner = clerk.users.create(email_address=["owner@example.com"])
        assert owner.id
        for name in ("Acme", "Globex"):
            clerk.organizations.create(name=name, created_by=owner.id)
    code, out, _ = finish(run(emulator, "organizations", "export"))
    assert code == 0
    assert sorted(json.loads(line)["name"] for line in out.splitlines()) == ["Acme", "Globex"]
    code, out, _ = finish(run(emulator, "memberships", "export"))
    assert code == 0
    memberships = [json.loads(line) for line in out.splitlines()]
    assert len(memberships) == 2
    assert {m["public_user_data"]["user_id"] for m in memberships} == {owner.id}


def test_no_key_runs_against_an_embedded_emulator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLERK_SECRET_KEY", raising=False)
    assert cli.main(["users", "export"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # an empty instance
    assert "embedded emulator" in captured.err


def test_exported_users_convert_to_create_arguments() -> None:
    exported = {
        "object": "user",
        "id": "user_1",
        "external_id": "x",
        "first_name": "Ada",
        "last_name": None,
        "email_addresses": [{"email_address": "ada@example.com"}],
        "phone_numbers": [],
        "public_metadata": {"a": 1},
        "private_metadata": {},
    }
    assert cli.create_arguments(exported) == {
        "external_id": "x",
        "first_name": "Ada",
        "email_address": ["ada@example.com"],
        "public_metadata": {"a": 1},
    }
    plain = {"email_address": ["b@example.com"], "password": "x"}
    assert cli.create_arguments(plain) is plain


def test_emulator_subcommand_is_the_emulator_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["emulator", "--help"])
    assert exit_info.value.code == 0
    assert "--webhook URL" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_shows_count_rate_and_eta(terminal: bool) -> None:
    out = _Terminal() if terminal else io.StringIO()
    progress = cli.Progress("users imported", 10, out)
    for _ in range(10):
        progress.advance()
    progress.finish()
    text = out.getvalue()
    assert "users imported" in text
    assert "10/10" in text
    assert "/s" in text
