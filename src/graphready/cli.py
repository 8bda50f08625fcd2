"""The command line: ``graphready serve | mcp | index | ask | eval``. Settings are read here,
once: from ``GRAPHREADY_*`` environment variables, overridden by flags. The flags of settings are
made from their declarations (``config.Settings``): a setting declared with
``flags=("serve",)`` is ``serve --its-name``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graphready.config import SETTINGS, Settings, ensure_data_dir, load_settings
from graphready.errors import ConfigError, GraphReadyError
from graphready.redact import redact_logs
from graphready.retrieval.modes import MODES
from graphready.settings_spec import Command, SettingSpec

FLAGS_OF: dict[str, Command] = {"mcp": "index"}
"""Commands that take the setting flags of another (``mcp``: ``--data-dir``; every other
setting from its ``GRAPHREADY_*`` variable, which an MCP client's configuration sets)."""


def _flag_help(spec: SettingSpec) -> str:
    text = spec.help.replace("`", "").replace("%", "%%")
    default = "" if spec.required or spec.switch else f"; default {spec.default}"
    return f"{text} ({spec.env}{default})"


def _add_setting_flags(parser: argparse.ArgumentParser, command: Command) -> None:
    """``--name`` for each setting declared with ``command`` among its flags."""
    for spec in SETTINGS:
        if command not in spec.about.flags:
            continue
        if spec.switch:
            parser.add_argument(spec.flag, action="store_const", const="on", default=None,
                                help=_flag_help(spec))
        elif spec.kind == "int":
            parser.add_argument(spec.flag, type=int, help=_flag_help(spec))
        else:
            parser.add_argument(spec.flag, help=_flag_help(spec))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphready", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve DOCS_DIR over HTTP, building indexes meanwhile")
    serve.add_argument("docs_dir", nargs="?", default=None,
                       help="folder of documents (.txt .md .html .jsonl); omit it to serve "
                       "documents added over HTTP only (POST /documents)")
    _add_setting_flags(serve, "serve")

    mcp = sub.add_parser("mcp", help="serve DOCS_DIR to an MCP client on standard input and "
                         "output, building indexes meanwhile")
    mcp.add_argument("docs_dir", nargs="?", default=None,
                     help="folder of documents (.txt .md .html .jsonl); omit it to serve "
                     "documents added with the add_document tool only")
    _add_setting_flags(mcp, FLAGS_OF["mcp"])
    _add_workspace_flag(mcp, "serve workspace NAME (added to the data dir's workspaces with "
                        "DOCS_DIR as its folder when it is not there yet)")

    index = sub.add_parser("index", help="build every index for DOCS_DIR, then exit")
    index.add_argument("docs_dir")
    _add_setting_flags(index, "index")
    _add_workspace_flag(index, "index into workspace NAME (added to the data dir's workspaces "
                        "with DOCS_DIR as its folder when it is not there yet)")

    ask = sub.add_parser("ask", help="answer one question from what is indexed")
    ask.add_argument("question")
    _add_setting_flags(ask, "ask")
    ask.add_argument("--mode", default="auto", choices=MODES)
    ask.add_argument("--top-k", type=int)
    _add_workspace_flag(ask, "answer from workspace NAME")

    evaluate = sub.add_parser("eval", help="index a corpus and measure retrieval per mode")
    evaluate.add_argument("corpus", type=Path, help="corpus .jsonl: {id, title, text} a line")
    evaluate.add_argument("questions", type=Path,
                          help="questions .jsonl: {id, question, answers, supporting_ids}")
    _add_setting_flags(evaluate, "eval")
    _add_workspace_flag(evaluate, "index the corpus into workspace NAME (added when it is not "
                        "there yet) and evaluate there")
    evaluate.add_argument("--modes", help="comma-separated evaluation modes (default: all; "
                          "an unknown one is refused with the list)")
    evaluate.add_argument("--k", default="2,5,10", help="cut-offs for recall@k")
    evaluate.add_argument("--json", type=Path, help="also write the numbers here")
    evaluate.add_argument("--limit", type=int, help="only the first N questions")
    evaluate.add_argument("--unanswerable", type=Path, action="append", default=[],
                          metavar="FILE", help="questions of other corpora (repeatable); those "
                          "whose answer this corpus holds are left out; the rest measure "
                          "how often the answer says the documents don't say")

    worker = sub.add_parser("worker", help="take build jobs from the queue until stopped "
                            "(SIGTERM, SIGINT): see Many machines")
    worker.add_argument("--data-dir", help="this worker's own folder")
    return parser


def _add_workspace_flag(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--workspace", metavar="NAME", default=None,
                        help=f"{help_text} (default: the default workspace)")


def _int_list(option: str, text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(option, f"expected comma-separated integers, got {text!r}") from None


def _settings(args: argparse.Namespace) -> Settings:
    command = FLAGS_OF.get(args.command, args.command)
    overrides: dict[str, Any] = {spec.name: getattr(args, spec.name) for spec in SETTINGS
                                 if command in spec.about.flags}
    if hasattr(args, "docs_dir"):  # the DOCS_DIR argument of serve and index
        overrides["docs_dir"] = args.docs_dir
    if args.command == "worker":
        overrides["data_dir"] = args.data_dir
    return load_settings(os.environ, **overrides)


def _logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    redact_logs(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphready`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        _logging(settings)
        if args.command != "ask":
            ensure_data_dir(settings)
        if getattr(args, "workspace", None) is not None:
            from graphready.server.workspace_list import settings_for_command

            settings = settings_for_command(settings, args.workspace,
                                            create=args.command != "ask")
        if args.command == "worker":
            from graphready.queue.worker import run_worker

            return run_worker(settings)
        if args.command != "ask":  # a configured queue that does not answer stops us here
            from graphready.queue.connect import check_queue

            check_queue(settings)
        if args.command == "serve":
            from graphready.server.auth import check_exposure
            from graphready.server.run import serve
            from graphready.stores.registry import open_stores

            check_exposure(settings)
            open_stores(settings).close()  # a store that cannot be opened stops us here

            if settings.workers > 1:
                from graphready.server.workers import serve_workers

                return asyncio.run(serve_workers(settings))
            asyncio.run(serve(settings))
            return 0
        if args.command == "mcp":
            from graphready.mcp.stdio import serve_stdio
            from graphready.stores.registry import open_stores

            open_stores(settings).close()  # a store that cannot be opened stops us here
            asyncio.run(serve_stdio(settings, args.workspace or "default"))
            return 0
        if args.command == "index":
            from graphready.commands import run_index

            return run_index(settings)
        if args.command == "eval":
            from graphready.evaluation.command import run_eval
            from graphready.evaluation.runner import EVAL_MODES

            modes = ([m.strip() for m in args.modes.split(",") if m.strip()]
                     if args.modes is not None else list(EVAL_MODES))
            return run_eval(settings, args.corpus, args.questions, modes,
                            _int_list("--k", args.k), args.json, args.limit,
                            args.unanswerable)
        from graphready.commands import run_ask

        return run_ask(settings, args.question, args.mode, args.top_k)
    except GraphReadyError as exc:
        print(f"graphready: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
