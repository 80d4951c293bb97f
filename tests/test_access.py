"""Users, sign-in throttling and the append-only audit trail, on real SQLite files, through the
commands (click's CliRunner) and the library."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphcrm.cli import main
from graphcrm.config import AccessSettings
from graphcrm.store.access import AccessStore

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
PW = "correct horse battery"


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "crm.db"
    agents = tmp_path / "agents.csv"
    agents.write_text("agent_id,name,hire_date,status,team\nA1,陆帆,2020-01-01,active,T1\n",
                      encoding="utf-8")
    assert run("ingest", str(agents), "--store", str(path), "--no-warm")[0] == 0
    return path


def test_users_add_list_disable_and_hash_only(db: Path) -> None:
    code, out, err = run("users", "add", "wang", "--role", "agent", "--agent", "A1",
                         "--password-stdin", "--store", str(db), input=PW + "\n")
    assert code == 0, err
    code, out, err = run("users", "add", "li", "--role", "manager", "--team", "T1",
                         "--generate", "--store", str(db))
    assert code == 0 and out.startswith("user: li  password: ") and "role: manager" in out
    code, out, _ = run("users", "list", "--json", "--store", str(db))
    users = {u["name"]: u for u in json.loads(out)["users"]}
    assert users["wang"]["agent_id"] == "A1" and users["li"]["teams"] == ["T1"]
    # only a slow salted hash is stored: never the password, never a fast digest
    raw = db.read_bytes() + (Path(f"{db}-wal").read_bytes() if Path(f"{db}-wal").exists() else b"")
    assert PW.encode() not in raw
    with sqlite3.connect(db) as conn:
        digest = conn.execute("SELECT password_hash FROM users WHERE name='wang'").fetchone()[0]
    assert digest.startswith("$argon2id$")
    assert run("users", "disable", "wang", "--store", str(db))[0] == 0
    with AccessStore(db, AccessSettings()) as acc:
        assert acc.sign_in("wang", PW).user is None  # disabled


@pytest.mark.parametrize("args, message", [
    (["--role", "agent"], "needs --agent"),
    (["--role", "manager"], "needs --team"),
    (["--role", "agent", "--agent", "NOPE"], "unknown agent id 'NOPE'"),
])
def test_users_add_refuses_incomplete_roles(db: Path, args: list[str], message: str) -> None:
    code, _out, err = run("users", "add", "x", *args, "--password-stdin", "--store", str(db),
                          input=PW + "\n")
    assert code == 1 and message in err


def test_short_password_is_refused(db: Path) -> None:
    code, _out, err = run("users", "add", "x", "--role", "admin", "--password-stdin",
                          "--store", str(db), input="short\n")
    assert code == 1 and "password too short" in err


def test_failed_sign_ins_are_throttled_and_audited(db: Path) -> None:
    settings = AccessSettings(max_failed_signins=3, lockout_seconds=60)
    with AccessStore(db, settings) as acc:
        acc.add_user("root", PW, "admin")
        t0 = 1_000_000.0
        for i in range(3):
            assert acc.sign_in("root", "wrong password", now=t0 + i).reason == "bad_credentials"
        # locked now: even the right password waits
        locked = acc.sign_in("root", PW, now=t0 + 3)
        assert locked.user is None and locked.reason == "throttled" and locked.wait_seconds > 0
        # after the wait the right password works, and resets the count
        assert acc.sign_in("root", PW, now=t0 + 3 + 61).user is not None
        assert acc.sign_in("root", "wrong password", now=t0 + 100).reason == "bad_credentials"
        # unknown names are throttled the same way (no probing for names)
        for i in range(3):
            acc.sign_in("ghost", "x", now=t0 + i)
        assert acc.sign_in("ghost", "x", now=t0 + 4).reason == "throttled"
        actions = list(acc.audit()["action"])
    assert actions.count("signin_failed") == 7 and actions.count("signin") == 1
    assert actions.count("signin_throttled") == 2


def test_audit_is_append_only_and_chained(db: Path) -> None:
    with AccessStore(db, AccessSettings()) as acc:
        acc.record("root", "view", "C1")
        acc.record("root", "search", "", "q=abc")
    with sqlite3.connect(db) as conn:
        for sql in ("UPDATE audit SET user = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(sql)
    code, out, _ = run("audit", "--verify", "--json", "--store", str(db))
    assert code == 0 and json.loads(out)["intact"] is True
    # someone with the file drops the trigger and edits a row: the chain shows it
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET target = 'C2' WHERE action = 'view'")
    code, out, err = run("audit", "--verify", "--store", str(db))
    assert code == 1 and "broken" in err


def test_audit_command_filters(db: Path, tmp_path: Path) -> None:
    with AccessStore(db, AccessSettings()) as acc:
        acc.record("alice", "view", "C1")
        acc.record("bob", "view", "C2")
    code, out, _ = run("audit", "--user", "alice", "--json", "--store", str(db))
    rows = json.loads(out)["rows"]
    # people are stored as per-person tokens; C1 is not a client of this store, so the
    # command cannot show an id for it
    with AccessStore(db, AccessSettings()) as acc:
        token = acc.person_token("C1", create=False)
    assert code == 0 and [r["target"] for r in rows] == [token] and token.startswith("p:")
    code, out, _ = run("audit", "--person", "C1", "--json", "--store", str(db))
    assert [r["user"] for r in json.loads(out)["rows"]] == ["alice"]
    code, out, _ = run("audit", "--person", "C3", "--json", "--store", str(db))
    assert json.loads(out)["rows"] == []
    code, out, _ = run("audit", "--since", "2999-01-01", "--json", "--store", str(db))
    assert json.loads(out)["rows"] == []
    # exports and ledgers written by the CLI are audited
    assert run("export", "--store", str(db), "--to", str(tmp_path / "out"))[0] == 0
    code, out, _ = run("audit", "--json", "--store", str(db))
    exports = [r for r in json.loads(out)["rows"] if r["action"] == "export"]
    assert exports and exports[0]["user"].startswith("cli:")
    assert "unmasked=false" in exports[0]["detail"]


@pytest.mark.slow
def test_demo_prints_a_user_per_role_and_listens_on_loopback_only(tmp_path: Path) -> None:
    """`graphcrm demo` on a fresh store: a `user: NAME  password: SECRET  role: ROLE` line per
    role whose password signs in, and the app it starts listens on 127.0.0.1 only, with no
    connection to anywhere else."""
    import os
    import re
    import socket
    import subprocess
    import sys
    import time

    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = tmp_path / "demo.db"
    proc = subprocess.Popen([sys.executable, "-c", "from graphcrm.cli import main; main()",
                             "demo", "--store", str(db),
                             "--port", str(port), "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HOME": str(tmp_path)})
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("http://localhost:"):  # the app's address: it is up
                break
        deadline = time.monotonic() + 90
        listening: set[str] = set()
        while time.monotonic() < deadline and not listening:
            for child in psutil.Process(proc.pid).children(recursive=True):
                for c in child.net_connections(kind="inet"):
                    if c.status == psutil.CONN_LISTEN and c.laddr.port == port:
                        listening.add(c.laddr.ip)
            time.sleep(0.5)
        time.sleep(2.0)  # let start-up finish: any outbound call would be open by now
        remote = {c.raddr.ip for child in psutil.Process(proc.pid).children(recursive=True)
                  for c in child.net_connections(kind="inet") if c.raddr}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert listening == {"127.0.0.1"}, (listening, lines)
    assert remote <= {"127.0.0.1"}, remote
    found = [re.fullmatch(r"user: (\S+)  password: (\S+)  role: (agent|manager|admin)", ln)
             for ln in lines]
    users = {m.group(3): (m.group(1), m.group(2)) for m in found if m}
    assert set(users) == {"agent", "manager", "admin"}, lines
    with AccessStore(db, AccessSettings()) as acc:
        for role, (name, password) in users.items():
            signed = acc.sign_in(name, password)
            assert signed.user is not None and signed.user.role == role


def test_streamlit_config_binds_loopback_with_xsrf_and_an_upload_cap() -> None:
    import tomllib

    config = tomllib.loads((SAMPLE.parents[1] / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True
    assert 0 < server["maxUploadSize"] <= 200
    assert config["browser"]["gatherUsageStats"] is False
