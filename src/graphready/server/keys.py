"""API keys and what each may do: the keys file (``GRAPHREADY_KEYS_FILE``), today's key settings,
and the :class:`KeyRing` the key middleware (``auth.py``) asks.

The keys file has one key a line, ``#`` comments and blank lines ignored::

    # LABEL    KEY                                ROLE   WORKSPACES
    alice      k3y-of-alice-4f9a1c2e7d0b5a38      admin  *
    ci-bot     k3y-of-the-ci-bot-9c1e55aa0f2d     write  finance,legal
    reader     k3y-of-a-reader-77b0d2c4e1f93a6    read   default

- LABEL names the key wherever the server records who did something (never the key itself):
  1 to 64 letters, digits or ``. _ @ + -``, each label once in the file.
- KEY is what the client sends (``Authorization: Bearer KEY``): 16 printable ASCII characters
  at least, as ``GRAPHREADY_API_KEY`` asks; each key once (also not one of the key settings').
- ROLE: ``read`` (reading, chat, ``/v1``), ``write`` (read, and adding or deleting documents,
  builds), ``admin`` (write, and deleting workspaces; creating one needs admin on ``*``).
- WORKSPACES: ``*`` (every workspace, those made later included) or names, comma-separated,
  each of a workspace that exists.

Today's settings mean every workspace: a key of ``GRAPHREADY_API_KEY`` is admin on ``*``, one of
``GRAPHREADY_READ_ONLY_API_KEY`` read on ``*``; they may be combined with a file.

A file that cannot be used stops start-up with a ``ConfigError`` naming the setting, the file,
the line and what is wrong (never the key). The file is read again on SIGHUP (:meth:`KeyRing.
reload`) and when it changes (:meth:`KeyRing.refresh`, which looks at most once a second);
a file that cannot be used then is logged the same way and the keys before it are kept.

Which workspaces exist is asked of a callable (``exists``) that the server passes in: this module
does not know the workspace registry. Keys are compared in constant time, each token against
every key (``hmac.compare_digest``); no key is ever logged or put in a message.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from starlette.types import Scope

from graphready.config import Settings
from graphready.errors import ConfigError
from graphready.settings_checks import MIN_API_KEY_CHARS, api_keys
from graphready.settings_spec import env_name

log = logging.getLogger("graphready.server")

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
"""The roles, each allowed what the one before it is, and more."""
Everywhere = Literal["*"]
ALL: Everywhere = "*"
"""Every workspace, those made later included."""
DEFAULT_WORKSPACE = "default"
"""The workspace of today's URLs, which always exists."""
CHECK_EVERY_S = 1.0
"""How often, at most, a request looks whether the keys file changed."""
MAX_FILE_BYTES = 4 * 1024 * 1024
"""The largest keys file read (it is read on the event loop)."""
LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-")
MAX_LABEL_CHARS = 64
FIELDS = "LABEL KEY ROLE WORKSPACES"
ACCESS = "graphready.access"
"""The key of the request's :class:`Access` in the ASGI scope."""

Exists = Callable[[str], bool]
"""Whether a workspace of this name exists."""


def only_default(name: str) -> bool:
    """The workspaces of a server without a workspace registry: ``default`` alone."""
    return name == DEFAULT_WORKSPACE


@dataclass(frozen=True, slots=True)
class Access:
    """What the key of a request may do: its ``label`` (who), its ``role`` and its
    ``workspaces`` (names, or :data:`ALL`)."""

    label: str
    role: Role
    workspaces: frozenset[str] | Everywhere

    def sees(self, workspace: str) -> bool:
        """Whether the key is a member of ``workspace`` (``sees(ALL)``: of every one)."""
        return self.workspaces == ALL or (workspace != ALL and workspace in self.workspaces)

    def allows(self, workspace: str, need: Role) -> bool:
        """Whether the key may do what needs role ``need`` in ``workspace``
        (``allows(ALL, "admin")``: admin of every workspace, which creating one needs)."""
        return self.sees(workspace) and ROLES.index(self.role) >= ROLES.index(need)


def access_of(scope: Scope) -> Access | None:
    """The access of the request's key (the key middleware, ``auth.py``, put it in the scope);
    None when the server needs no key (everything is allowed) or the path is open."""
    found: Access | None = scope.get(ACCESS)
    return found


@dataclass(frozen=True, slots=True)
class Key:
    """One key and its access; ``line`` is its line in the keys file (0: from a setting)."""

    secret: bytes
    access: Access
    line: int = 0


def setting_keys(settings: Settings) -> tuple[Key, ...]:
    """The keys of today's settings: ``GRAPHREADY_API_KEY``'s admin on every workspace,
    ``GRAPHREADY_READ_ONLY_API_KEY``'s read on every workspace (each labelled by its setting)."""
    full = Access(env_name("api_key"), "admin", ALL)
    read = Access(env_name("read_only_api_key"), "read", ALL)
    return (*(Key(k.encode("utf-8"), full) for k in api_keys(settings.api_key)),
            *(Key(k.encode("utf-8"), read) for k in api_keys(settings.read_only_api_key)))


def _refuse(path: Path, line: int, problem: str) -> ConfigError:
    return ConfigError(env_name("keys_file"), f"{path} line {line}: {problem}")


class _Bad(Exception):
    """What is wrong with a line of the keys file (never naming its key)."""


def _check_key(key: str) -> None:
    if len(key) < MIN_API_KEY_CHARS:
        raise _Bad(f"the key (second field) needs at least {MIN_API_KEY_CHARS} characters")
    if not key.isascii() or not key.isprintable():
        raise _Bad("the key (second field) must be printable ASCII characters")


def _role(field: str) -> Role:
    for role in ROLES:
        if field == role:
            return role
    shown = f" {field!r}" if len(field) < MIN_API_KEY_CHARS else ""  # never a key
    raise _Bad(f"unknown role{shown} (third field): use read, write or admin")


def _workspaces(field: str, exists: Exists) -> frozenset[str] | Everywhere:
    if field == ALL:
        return ALL
    names = field.split(",")
    if any(not name for name in names):
        raise _Bad("an empty workspace name in the list (names are separated by single commas)")
    if ALL in names:
        raise _Bad("* stands alone: it already means every workspace")
    for name in names:
        if not exists(name):
            raise _Bad(f"no workspace '{name}' (create it first, or take it off the line)")
    return frozenset(names)


def _parse_line(fields: list[str], exists: Exists) -> Key:
    """The key of one line's fields, or :class:`_Bad` saying what is wrong with them."""
    if len(fields) != 4:
        raise _Bad(f"expected 4 fields, {FIELDS}, separated by spaces; found {len(fields)}")
    label, key, role, where = fields
    if len(label) > MAX_LABEL_CHARS or not set(label) <= LABEL_CHARS:
        raise _Bad(f"the label (first field) must be 1 to {MAX_LABEL_CHARS} letters, digits "
                   "or . _ @ + -")
    _check_key(key)
    access = Access(label, _role(role), _workspaces(where, exists))
    return Key(key.encode("utf-8"), access)


def parse_keys(text: str, path: Path, exists: Exists = only_default,
               settings_keys: Sequence[Key] = ()) -> tuple[Key, ...]:
    """The keys of a keys file's ``text`` (read from ``path``, named in errors), each checked,
    and checked against ``settings_keys`` (those of the key settings) for duplicates; a
    ``ConfigError`` naming the file and the line of the first problem."""
    keys: list[Key] = []
    secrets = {k.secret: k.access.label for k in settings_keys}
    labels = {k.access.label: k.access.label for k in settings_keys}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r").strip()
        if not line or line.startswith("#"):
            continue
        try:
            found = replace(_parse_line(line.split(), exists), line=number)
        except _Bad as exc:
            raise _refuse(path, number, str(exc)) from None
        if found.secret in secrets:
            raise _refuse(path, number, f"the same key as {secrets[found.secret]}: each key "
                          "once")
        label = found.access.label
        if label in labels:
            raise _refuse(path, number, f"the label '{label}' is also that of "
                          f"{labels[label]}: each label once")
        secrets[found.secret] = labels[label] = f"line {number}"
        keys.append(found)
    return tuple(keys)


def read_keys(path: Path, exists: Exists = only_default,
              settings_keys: Sequence[Key] = ()) -> tuple[Key, ...]:
    """The keys of the keys file at ``path`` (:func:`parse_keys`; a UTF-8 byte order mark
    before the first line is skipped); a ``ConfigError`` when it cannot be read. A file that
    other users of the machine can read is taken, with a warning."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
            mode = os.fstat(file.fileno()).st_mode
    except OSError as exc:
        raise ConfigError(env_name("keys_file"), f"cannot read {path}: "
                          f"{exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(env_name("keys_file"), f"{path} is over {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _refuse(path, data.count(b"\n", 0, exc.start) + 1,
                      "not UTF-8 text") from None
    keys = parse_keys(text, path, exists, settings_keys)
    if mode & 0o077 and keys:
        log.warning("keys file %s can be read by other users of this machine (mode %o): "
                    "chmod 600 it", path, mode & 0o777)
    return keys


def _signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is written or replaced: its mtime, size and inode."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class KeyRing:
    """The keys a server takes: those of the key settings and of the keys file (``path``),
    the file's read again by :meth:`reload` (SIGHUP) and :meth:`refresh` (on a request, when
    the file changed). Which workspaces exist is asked of ``exists``."""

    def __init__(self, settings_keys: Sequence[Key], path: Path | None,
                 exists: Exists = only_default, check_every_s: float = CHECK_EVERY_S) -> None:
        self.path = path
        self._settings_keys = tuple(settings_keys)
        self._exists = exists
        self._check_every_s = check_every_s
        self._checked = time.monotonic()
        self._signature = _signature(path) if path is not None else None
        self._keys = self._settings_keys + self._read()

    @classmethod
    def from_settings(cls, settings: Settings, exists: Exists = only_default) -> KeyRing:
        """The keys of ``settings``' key settings and keys file; a ``ConfigError`` naming the
        line when the file cannot be used."""
        return cls(setting_keys(settings), settings.keys_file, exists)

    @property
    def required(self) -> bool:
        """Whether requests need a key: a key setting is set, or a keys file (even an empty
        one: then no request gets through until a key is added to it)."""
        return bool(self._settings_keys) or self.path is not None

    @property
    def labels(self) -> tuple[str, ...]:
        """The label of each key (a setting's once per key)."""
        return tuple(k.access.label for k in self._keys)

    def _read(self) -> tuple[Key, ...]:
        if self.path is None:
            return ()
        return read_keys(self.path, self._exists, self._settings_keys)

    def find(self, token: str | None) -> Access | None:
        """The access of ``token``, or None when it is no key; compared with every key in
        constant time."""
        if token is None:
            return None
        raw = token.encode("utf-8", "replace")
        found = None
        for key in self._keys:
            if hmac.compare_digest(raw, key.secret) and found is None:
                found = key.access
        return found

    def reload(self) -> bool:
        """Read the keys file again (SIGHUP); whether its keys are now those taken. A file that
        cannot be used is logged, naming the line, and the keys before it are kept."""
        if self.path is None:
            return False
        self._signature = _signature(self.path)
        try:
            keys = self._read()
        except ConfigError as exc:
            log.error("%s; the keys before it are kept", exc)
            return False
        self._keys = self._settings_keys + keys
        log.info("keys file %s read: %d keys", self.path, len(keys))
        return True

    def refresh(self) -> None:
        """Reload the keys file if it changed (looked at once per ``check_every_s`` at most)."""
        if self.path is None:
            return
        now = time.monotonic()
        if now - self._checked < self._check_every_s:
            return
        self._checked = now
        if _signature(self.path) != self._signature:
            self.reload()
