"""What the test servers (FalkorDB, llama.cpp) do when they cannot serve: one clear message that
names the server and shows the end of its log, instead of a cascade of unrelated failures.

A server that cannot start, or that dies on its first request, makes the whole run stop at once
(``pytest.exit``): every later test needing it would fail the same way. A server that dies while
a test uses it (not stopped by the test) fails that test when it is stopped, with its exit status
and its log."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import NoReturn

import pytest

LOG_TAIL_CHARS = 3000


def log_tail(path: Path) -> str:
    """The last characters of a server's log file."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return text[-LOG_TAIL_CHARS:] or "(the log is empty)"


def describe_exit(returncode: int) -> str:
    """``exit status N`` or ``killed by SIGNAME`` (e.g. SIGILL: an instruction the CPU lacks)."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def unusable(name: str, problem: str, log: Path, hint: str = "") -> NoReturn:
    """Stop the test run: ``name`` (the server) cannot serve on this machine."""
    message = (f"{name} cannot serve on this machine: {problem}.{' ' + hint if hint else ''}\n"
               f"--- end of its log ({log}) ---\n{log_tail(log)}")
    pytest.exit(message, returncode=3)
    raise AssertionError("unreachable")  # pytest.exit raises


def died(name: str, returncode: int, log: Path) -> AssertionError:
    """The error for a server that died during a test without being asked to stop."""
    return AssertionError(f"{name} died during the test ({describe_exit(returncode)})\n"
                          f"--- end of its log ({log}) ---\n{log_tail(log)}")
