"""Users, sign-in throttling and the append-only audit trail.

Where they live (docs/privacy.md): an embedded store keeps them in its own SQLite file (tables
``users``, ``signin_throttle``, ``audit``), so the store file is the one thing to back up and
protect. A Neo4j store keeps them in a side SQLite file, ``[access] side_file``
(``graphcrm-access.db``) on the machine that runs the app: the graph database stays free of
credentials, and the append-only triggers below need SQLite.

- Passwords are stored only as argon2id hashes (``argon2-cffi``, its default RFC 9106
  parameters; salted per password), re-hashed on sign-in when the parameters change.
- Failed sign-ins are throttled per user name (known or not, so names cannot be probed):
  after ``max_failed_signins`` failures in a row every attempt waits ``lockout_seconds``,
  doubling per further failure up to ``lockout_max_seconds``; a success resets it.
- Audit rows are append-only: SQLite triggers refuse ``UPDATE`` and ``DELETE`` on ``audit``,
  and each row carries a SHA-256 chain over the previous row, so a row removed or changed by
  someone who dropped the triggers shows up in :meth:`AccessStore.verify_audit`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from graphcrm.store.base import StoreError

if TYPE_CHECKING:
    from graphcrm.config import AccessSettings

__all__ = ["PERSON_ACTIONS", "ROLES", "AccessStore", "SignIn", "User", "access_location",
           "open_access"]

ROLES = ("agent", "manager", "admin")

_DDL = (
    """CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  role TEXT NOT NULL CHECK (role IN ('agent', 'manager', 'admin')),
  agent_id TEXT,
  teams TEXT NOT NULL DEFAULT '[]',
  branches TEXT NOT NULL DEFAULT '[]',
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created TEXT NOT NULL,
  updated TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS signin_throttle (
  name TEXT PRIMARY KEY, failures INTEGER NOT NULL, locked_until REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  user TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  chain TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS audit_user ON audit(user, at)",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END""",
    "CREATE TABLE IF NOT EXISTS access_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # one random key per person audited (ref = keyed digest of the id): audit rows name people
    # by a token made with it; `forget` deletes the key, so an erased person's rows can no
    # longer be tied to anyone, while the rows themselves stay untouched (append-only)
    "CREATE TABLE IF NOT EXISTS person_keys (ref TEXT PRIMARY KEY, key TEXT NOT NULL)",
)

#: audit actions whose target names people (clients, prospects): stored as person tokens
PERSON_ACTIONS = frozenset({"view", "search", "view_personal_data"})

AUDIT_COLUMNS = ["seq", "at", "user", "action", "target", "detail"]


@dataclass(frozen=True)
class User:
    """A person who signs in to the app."""

    name: str
    role: str
    agent_id: str | None = None
    teams: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    disabled: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "role": self.role, "agent_id": self.agent_id,
                "teams": list(self.teams), "branches": list(self.branches),
                "disabled": self.disabled}


@dataclass
class SignIn:
    """The outcome of :meth:`AccessStore.sign_in`: ``user`` when it succeeded, else a
    ``reason`` (``bad_credentials`` or ``throttled``, with ``wait_seconds``)."""

    user: User | None
    reason: str = ""
    wait_seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def access_location(store_location: str, settings: AccessSettings) -> Path:
    """The SQLite file holding users and audit for the store at ``store_location``: the store's
    own file when it is embedded, ``settings.side_file`` for a Neo4j server."""
    loc = str(store_location)
    if loc.startswith("sqlite:///"):
        loc = loc[len("sqlite:///"):]
    if "://" in loc:
        return Path(settings.side_file)
    return Path(loc)


def open_access(store_location: str, settings: AccessSettings, *, create: bool = True
                ) -> AccessStore:
    """The :class:`AccessStore` that belongs to the store at ``store_location``."""
    return AccessStore(access_location(store_location, settings), settings, create=create)


class AccessStore:
    """Users, throttling and audit in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | Path, settings: AccessSettings, *, create: bool = True
                 ) -> None:
        from argon2 import PasswordHasher

        self.path = Path(path)
        self.settings = settings
        if not self.path.exists() and not create:
            raise StoreError(f"no store at {self.path} (run `graphcrm ingest` first)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._hasher = PasswordHasher()
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA secure_delete=ON")
            with self._tx():
                for ddl in _DDL:
                    self._conn.execute(ddl)
                self._conn.execute("INSERT OR IGNORE INTO access_meta VALUES ('digest_key', ?)",
                                   (secrets.token_hex(32),))
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot hold users and audit ({exc})") from exc
        self._digest_key = bytes.fromhex(self._conn.execute(
            "SELECT value FROM access_meta WHERE key = 'digest_key'").fetchone()[0])
        # a dummy hash to spend the same time on unknown user names as on known ones
        self._dummy: str | None = None

    @contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with suppress(sqlite3.Error):
            self._conn.close()

    def __enter__(self) -> AccessStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- users ---------------------------------------------------------------------------
    def _check_password(self, password: str) -> None:
        if len(password) < self.settings.min_password_length:
            raise ValueError(f"password too short: at least {self.settings.min_password_length} "
                             "characters ([access] min_password_length)")

    @staticmethod
    def _check_role(role: str, agent_id: str | None, teams: Sequence[str],
                    branches: Sequence[str]) -> None:
        if role not in ROLES:
            raise ValueError(f"unknown role '{role}' (one of {', '.join(ROLES)})")
        if role == "agent" and not agent_id:
            raise ValueError("an agent user needs --agent AGENT_ID (the agent it signs in as)")
        if role == "manager" and not (teams or branches):
            raise ValueError("a manager user needs --team and/or --branch (what it manages)")

    def add_user(self, name: str, password: str, role: str, *, agent_id: str | None = None,
                 teams: Sequence[str] = (), branches: Sequence[str] = (),
                 by: str = "cli") -> User:
        """Create a user; ValueError with a one-line message on a bad name, role or password."""
        name = name.strip()
        if not name or len(name) > 64 or any(ord(c) < 32 for c in name):
            raise ValueError(f"user name '{name}': 1-64 printable characters")
        self._check_role(role, agent_id, teams, branches)
        self._check_password(password)
        digest = self._hasher.hash(password)
        now = _now_iso()
        with self._tx():
            if self._conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise ValueError(f"user '{name}' exists (graphcrm users set-password to change "
                                 "the password)")
            self._conn.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                (name, role, agent_id if role == "agent" else None,
                 json.dumps(list(teams), ensure_ascii=False),
                 json.dumps(list(branches), ensure_ascii=False), digest, now, now))
            self._audit(by, "user_add", name, f"role={role}")
        user = self.get_user(name)
        assert user is not None
        return user

    def set_password(self, name: str, password: str, *, by: str = "cli") -> None:
        self._check_password(password)
        digest = self._hasher.hash(password)
        with self._tx():
            cur = self._conn.execute(
                "UPDATE users SET password_hash = ?, updated = ? WHERE name = ?",
                (digest, _now_iso(), name))
            if cur.rowcount == 0:
                raise ValueError(f"no user '{name}'")
            self._conn.execute("DELETE FROM signin_throttle WHERE name = ?", (name,))
            self._audit(by, "user_set_password", name)

    def set_disabled(self, name: str, disabled: bool = True, *, by: str = "cli") -> None:
        with self._tx():
            cur = self._conn.execute("UPDATE users SET disabled = ?, updated = ? WHERE name = ?",
                                     (int(disabled), _now_iso(), name))
            if cur.rowcount == 0:
                raise ValueError(f"no user '{name}'")
            self._audit(by, "user_disable" if disabled else "user_enable", name)

    @staticmethod
    def _user(row: Sequence[object]) -> User:
        name, role, agent_id, teams, branches, disabled = row
        return User(str(name), str(role), None if agent_id is None else str(agent_id),
                    tuple(json.loads(str(teams))), tuple(json.loads(str(branches))),
                    bool(disabled))

    def get_user(self, name: str) -> User | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT name, role, agent_id, teams, branches, disabled FROM users "
                "WHERE name = ?", (name,)).fetchone()
        return None if row is None else self._user(row)

    def users(self) -> list[User]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, role, agent_id, teams, branches, disabled FROM users "
                "ORDER BY name").fetchall()
        return [self._user(r) for r in rows]

    # -- sign-in -------------------------------------------------------------------------
    def sign_in(self, name: str, password: str, *, now: float | None = None,
                where: str = "app") -> SignIn:
        """Check a password, with throttling; every attempt is audited."""
        from argon2.exceptions import InvalidHashError, VerificationError

        name = (name or "").strip()[:64]
        t = time.time() if now is None else now
        with self._lock:
            throttle = self._conn.execute(
                "SELECT failures, locked_until FROM signin_throttle WHERE name = ?",
                (name,)).fetchone()
            if throttle is not None and throttle[1] > t:
                wait = throttle[1] - t
                with self._tx():
                    self._audit(name or "-", "signin_throttled", where,
                                f"wait={wait:.0f}s")
                return SignIn(None, "throttled", wait)
            row = self._conn.execute(
                "SELECT password_hash, disabled FROM users WHERE name = ?", (name,)).fetchone()
        ok = False
        if row is None:
            if self._dummy is None:
                self._dummy = self._hasher.hash(secrets.token_hex(16))
            with suppress(VerificationError, InvalidHashError):
                self._hasher.verify(self._dummy, password + "x")
        else:
            with suppress(VerificationError, InvalidHashError):
                ok = self._hasher.verify(str(row[0]), password)
            ok = ok and not row[1]
        with self._tx():
            if ok:
                self._conn.execute("DELETE FROM signin_throttle WHERE name = ?", (name,))
                if row is not None and self._hasher.check_needs_rehash(str(row[0])):
                    self._conn.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                                       (self._hasher.hash(password), name))
                self._audit(name, "signin", where)
            else:
                failures = (throttle[0] if throttle else 0) + 1
                over = failures - self.settings.max_failed_signins
                locked = 0.0 if over < 0 else t + min(
                    self.settings.lockout_seconds * (2 ** over),
                    self.settings.lockout_max_seconds)
                self._conn.execute(
                    "INSERT INTO signin_throttle VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE "
                    "SET failures = excluded.failures, locked_until = excluded.locked_until",
                    (name, failures, locked))
                self._audit(name or "-", "signin_failed", where,
                            "disabled" if row is not None and row[1] else "")
        if not ok:
            return SignIn(None, "bad_credentials")
        user = self.get_user(name)
        return SignIn(user)

    # -- audit ---------------------------------------------------------------------------
    def digest(self, text: str) -> str:
        """A keyed digest of ``text`` (HMAC-SHA256 with a key kept in this file): audit rows
        record searches this way, so the trail shows repeated searches without holding the
        names or numbers that were typed."""
        return hmac.new(self._digest_key, text.strip().casefold().encode("utf-8"),
                        hashlib.sha256).hexdigest()[:16]

    # -- people in the audit trail (tokens; crypto-shredded by `forget`) ---------------------
    def _ref(self, person_id: str) -> str:
        return hmac.new(self._digest_key, b"person:" + person_id.encode("utf-8"),
                        hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _token(key: str, person_id: str) -> str:
        return "p:" + hmac.new(bytes.fromhex(key), person_id.encode("utf-8"),
                               hashlib.sha256).hexdigest()[:16]

    def person_token(self, person_id: str, *, create: bool = True) -> str | None:
        """How audit rows name ``person_id``: ``p:`` + a digest keyed with the person's own
        random key (made on first use). None when ``create`` is off and the person has no key
        (never audited, or erased)."""
        ref = self._ref(person_id)
        with self._lock:
            row = self._conn.execute("SELECT key FROM person_keys WHERE ref = ?",
                                     (ref,)).fetchone()
            if row is None:
                if not create:
                    return None
                key = secrets.token_hex(32)
                self._conn.execute("INSERT OR IGNORE INTO person_keys VALUES (?, ?)", (ref, key))
                row = self._conn.execute("SELECT key FROM person_keys WHERE ref = ?",
                                         (ref,)).fetchone()
        return self._token(str(row[0]), person_id)

    def people_of_tokens(self, person_ids: Iterable[str]) -> dict[str, str]:
        """``{token: id}`` for the given ids that have a key (to show audit rows with ids: the
        living people of the store; an erased person's token maps to nobody)."""
        with self._lock:
            keys = dict(self._conn.execute("SELECT ref, key FROM person_keys").fetchall())
        out = {}
        for pid in person_ids:
            key = keys.get(self._ref(str(pid)))
            if key is not None:
                out[self._token(key, str(pid))] = str(pid)
        return out

    def shred_people(self, person_ids: Iterable[str], *, rebuild: bool = True) -> int:
        """Delete the keys of ``person_ids`` (``forget``): their audit rows stay as they are,
        but their tokens can no longer be tied to an id by anyone. Deleted with secure_delete;
        with ``rebuild`` the file is rebuilt too (VACUUM, WAL truncated) so no freed page keeps
        a key (off when the caller rebuilds the same file right after)."""
        refs = [(self._ref(str(p)),) for p in person_ids]
        with self._tx():
            before = self._conn.total_changes
            self._conn.executemany("DELETE FROM person_keys WHERE ref = ?", refs)
            n = self._conn.total_changes - before
        if not rebuild:
            return n
        with self._lock:
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def _audit(self, user: str, action: str, target: str = "", detail: str = "") -> None:
        prev = self._conn.execute("SELECT chain FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        at = _now_iso()
        chain = hashlib.sha256("\x1f".join(
            [prev[0] if prev else "", at, user, action, target, detail]).encode()).hexdigest()
        self._conn.execute(
            "INSERT INTO audit (at, user, action, target, detail, chain) VALUES (?, ?, ?, ?, ?, ?)",
            (at, user, action, target, detail, chain))

    def record(self, user: str, action: str, target: str | Iterable[str] = "",
               detail: str = "") -> None:
        """Append one audit row (``target``: an id, or several joined by spaces). For the
        actions of :data:`PERSON_ACTIONS` each id is stored as its person token."""
        ids = target.split() if isinstance(target, str) else [str(x) for x in target]
        with self._tx():
            if action in PERSON_ACTIONS:
                ids = [str(self.person_token(i)) for i in ids]
            self._audit(user, action, " ".join(ids), detail)

    def audit(self, user: str | None = None, since: str | None = None,
              person: str | None = None) -> pd.DataFrame:
        """Audit rows, oldest first; ``since`` is an ISO date or time (UTC); ``person`` keeps
        the rows that name that person (by their token: none once they are erased)."""
        sql = f"SELECT {', '.join(AUDIT_COLUMNS)} FROM audit WHERE 1 = 1"
        params: list[object] = []
        if person is not None:
            token = self.person_token(person, create=False)
            if token is None:
                return pd.DataFrame(columns=AUDIT_COLUMNS)
            sql += " AND (' ' || target || ' ') LIKE ?"
            params.append(f"% {token} %")
        if user:
            sql += " AND user = ?"
            params.append(user)
        if since:
            sql += " AND at >= ?"
            params.append(since)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", params).fetchall()
        return pd.DataFrame.from_records(rows, columns=AUDIT_COLUMNS)

    def verify_audit(self) -> int | None:
        """The seq of the first audit row whose chain does not match (a row changed, removed
        or inserted behind the triggers' back), or None when the trail is intact."""
        prev = ""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, at, user, action, target, detail, chain FROM audit ORDER BY seq"
            ).fetchall()
        for seq, at, user, action, target, detail, chain in rows:
            want = hashlib.sha256("\x1f".join(
                [prev, at, user, action, target, detail]).encode()).hexdigest()
            if want != chain:
                return int(seq)
            prev = chain
        return None
