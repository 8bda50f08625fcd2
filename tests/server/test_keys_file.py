"""The keys file (``server/keys.py``): its format, every way a line can be refused (naming the
file and the line, never the key), keys compared against every key, and reloading (SIGHUP's
:meth:`KeyRing.reload`, a change's :meth:`KeyRing.refresh`) that keeps the old keys when the new
file cannot be used. (Over HTTP and a real server: ``test_workspace_auth.py``.)"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from graphready.config import load_settings
from graphready.errors import ConfigError
from graphready.server.keys import ALL, Access, KeyRing, parse_keys, read_keys, setting_keys

ALICE, BOB, CAROL = "alice-key-0123456789", "bob-key-abcdefghijkl", "carol-key-zyxwvutsrq"
FULL, READ = "f" * 20, "r" * 20
WORKSPACES = {"default", "finance", "legal"}


def exists(name: str) -> bool:
    return name in WORKSPACES


def _file(tmp_path: Path, text: str, name: str = "keys") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


GOOD = f"""# LABEL KEY ROLE WORKSPACES

alice   {ALICE}   admin  *
  bob\t{BOB}  write finance,legal\r
carol {CAROL} read default
"""


def test_a_file_gives_each_key_its_label_role_and_workspaces(tmp_path: Path) -> None:
    keys = read_keys(_file(tmp_path, GOOD), exists)
    assert [(k.access, k.line) for k in keys] == [
        (Access("alice", "admin", ALL), 3),
        (Access("bob", "write", frozenset({"finance", "legal"})), 4),
        (Access("carol", "read", frozenset({"default"})), 5)]
    assert read_keys(_file(tmp_path, "", "empty"), exists) == ()
    assert read_keys(_file(tmp_path, "# only a comment\n\n", "comments"), exists) == ()


def test_access_sees_its_workspaces_and_allows_up_to_its_role() -> None:
    bob = Access("bob", "write", frozenset({"finance"}))
    assert bob.sees("finance") and not bob.sees("legal") and not bob.sees(ALL)
    assert bob.allows("finance", "read") and bob.allows("finance", "write")
    assert not bob.allows("finance", "admin") and not bob.allows("legal", "read")
    admin = Access("alice", "admin", ALL)
    assert admin.sees("anything-made-later") and admin.allows(ALL, "admin")
    assert not Access("r", "read", ALL).allows(ALL, "write")


@pytest.mark.parametrize(("line", "problem"), [
    (f"alice {ALICE} admin", "expected 4 fields, LABEL KEY ROLE WORKSPACES"),
    (f"alice {ALICE} admin * extra", "found 5"),
    (f"al/ice {ALICE} admin *", "the label (first field) must be"),
    (f"{'x' * 65} {ALICE} admin *", "1 to 64"),
    ("alice short-key admin *", "needs at least 16 characters"),
    ("alice clé-pas-ascii-du-tout admin *", "printable ASCII"),
    (f"alice {ALICE} owner *", "unknown role 'owner' (third field): use read, write or admin"),
    (f"alice {ALICE} admin finance,,legal", "an empty workspace name"),
    (f"alice {ALICE} admin finance,*", "* stands alone"),
    (f"alice {ALICE} admin finance,nowhere", "no workspace 'nowhere'"),
])
def test_a_bad_line_is_refused_naming_the_file_the_line_and_the_problem(
        tmp_path: Path, line: str, problem: str) -> None:
    path = _file(tmp_path, f"# keys\nbob {BOB} read *\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        read_keys(path, exists)
    message = str(caught.value)
    assert message.startswith(f"setting GRAPHREADY_KEYS_FILE: {path} line 3: ")
    assert problem in message
    assert ALICE not in message and BOB not in message


def test_duplicates_are_refused_without_showing_the_key(tmp_path: Path) -> None:
    path = _file(tmp_path, f"a {ALICE} read *\nb {BOB} read *\nc {ALICE} write *\n")
    with pytest.raises(ConfigError, match="line 3: the same key as line 1") as caught:
        read_keys(path, exists)
    assert ALICE not in str(caught.value)
    path = _file(tmp_path, f"a {ALICE} read *\n\na {BOB} read *\n")
    with pytest.raises(ConfigError, match="line 3: the label 'a' is also that of line 1"):
        read_keys(path, exists)


def test_a_key_of_the_settings_cannot_be_in_the_file_too(tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_API_KEY": FULL}, data_dir=tmp_path)
    path = _file(tmp_path, f"ops {FULL} read *\n")
    with pytest.raises(ConfigError, match="line 1: the same key as GRAPHREADY_API_KEY") as c:
        read_keys(path, exists, setting_keys(settings))
    assert FULL not in str(c.value)
    with pytest.raises(ConfigError, match="the label 'GRAPHREADY_API_KEY' is also that of"):
        read_keys(_file(tmp_path, f"GRAPHREADY_API_KEY {ALICE} read *\n"), exists,
                  setting_keys(settings))


def test_a_long_role_is_not_repeated_in_the_message(tmp_path: Path) -> None:
    """A line whose fields are out of order may hold a key where the role goes."""
    path = _file(tmp_path, f"alice admin {ALICE} *\n")
    with pytest.raises(ConfigError, match="needs at least 16") as caught:
        read_keys(path, exists)
    path = _file(tmp_path, f"alice {BOB} {ALICE} *\n")
    with pytest.raises(ConfigError, match=r"unknown role \(third field\)") as caught:
        read_keys(path, exists)
    assert ALICE not in str(caught.value) and BOB not in str(caught.value)


def test_a_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read .*missing"):
        read_keys(tmp_path / "missing", exists)
    path = tmp_path / "latin1"
    path.write_bytes(f"a {ALICE} read *\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="line 2: not UTF-8 text"):
        read_keys(path, exists)


def test_settings_keys_are_admin_and_read_on_every_workspace(tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_API_KEY": f"{FULL},{'g' * 20}",
                              "GRAPHREADY_READ_ONLY_API_KEY": READ}, data_dir=tmp_path)
    ring = KeyRing.from_settings(settings)
    assert ring.required and ring.path is None
    assert ring.find(FULL) == ring.find("g" * 20) == Access("GRAPHREADY_API_KEY", "admin", ALL)
    assert ring.find(READ) == Access("GRAPHREADY_READ_ONLY_API_KEY", "read", ALL)
    assert ring.find(None) is None and ring.find(FULL[:-1]) is None
    assert not KeyRing.from_settings(load_settings({}, data_dir=tmp_path)).required


def test_a_keys_file_needs_keys_even_when_empty_and_combines_with_the_settings(
        tmp_path: Path) -> None:
    empty = _file(tmp_path, "")
    ring = KeyRing.from_settings(load_settings({"GRAPHREADY_KEYS_FILE": str(empty)},
                                               data_dir=tmp_path))
    assert ring.required and ring.find(ALICE) is None
    path = _file(tmp_path, f"alice {ALICE} write *\n", "both")
    settings = load_settings({"GRAPHREADY_KEYS_FILE": str(path),
                              "GRAPHREADY_READ_ONLY_API_KEY": READ}, data_dir=tmp_path)
    ring = KeyRing.from_settings(settings)
    assert ring.find(ALICE) == Access("alice", "write", ALL)
    assert ring.find(READ) is not None and ring.labels == ("GRAPHREADY_READ_ONLY_API_KEY",
                                                           "alice")


def test_reload_takes_a_new_file_and_keeps_the_old_keys_when_it_is_bad(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _file(tmp_path, f"alice {ALICE} admin *\n")
    ring = KeyRing([], path, exists)
    path.write_text(f"alice {ALICE} admin *\nbob {BOB} read finance\n", "utf-8")
    assert ring.reload() and ring.find(BOB) == Access("bob", "read", frozenset({"finance"}))
    path.write_text(f"alice {ALICE} admin *\ncarol {CAROL} read nowhere\n", "utf-8")
    with caplog.at_level(logging.ERROR, logger="graphready.server"):
        assert not ring.reload()
    assert f"{path} line 2: no workspace 'nowhere'" in caplog.text
    assert "the keys before it are kept" in caplog.text and CAROL not in caplog.text
    assert ring.find(BOB) is not None and ring.find(CAROL) is None
    path.unlink()
    assert not ring.reload() and ring.find(ALICE) is not None


def test_refresh_reloads_a_changed_file_at_most_once_per_period(tmp_path: Path) -> None:
    path = _file(tmp_path, f"alice {ALICE} admin *\n")
    ring = KeyRing([], path, exists, check_every_s=0.0)
    ring.refresh()
    assert ring.find(BOB) is None
    path.write_text(f"bob {BOB} read *\n", "utf-8")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # a different mtime, whatever the clock
    ring.refresh()
    assert ring.find(BOB) is not None and ring.find(ALICE) is None
    slow = KeyRing([], path, exists, check_every_s=3600.0)
    path.write_text(f"alice {ALICE} admin *\n", "utf-8")
    os.utime(path, ns=(2_000_000_000, 2_000_000_000))
    slow.refresh()  # looked less than an hour ago (at construction): not again yet
    assert slow.find(BOB) is not None and slow.find(ALICE) is None


def test_parse_keys_is_linear_on_a_long_hostile_line() -> None:
    line = "a " + "k" * 200_000 + " read " + ",".join(["finance"] * 20_000)
    (key,) = parse_keys(line, Path("keys"), exists)
    assert key.access.workspaces == frozenset({"finance"})


def test_a_byte_order_mark_is_skipped_and_a_file_others_can_read_is_warned_of(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "keys"
    path.write_bytes(f"\ufeffalice {ALICE} admin *\n".encode())
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="graphready.server"):
        (key,) = read_keys(path, exists)
    assert key.access.label == "alice"
    assert "can be read by other users of this machine (mode 644): chmod 600" in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="graphready.server"):
        read_keys(path, exists)
    assert "other users" not in caplog.text
