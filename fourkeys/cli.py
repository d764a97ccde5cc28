"""The `fourkeys` command: argument parsing only; each command calls one function elsewhere.

Exit codes (contract): 0 ok, 1 user error, 2 partial/resumable, 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, date, datetime
from typing import NoReturn

from fourkeys.errors import FourKeysError

log = logging.getLogger("fourkeys")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 1 (argparse's default is 2)
        self.exit(1, f"fourkeys: error: {message}; see `{self.prog} -h`\n")


def _since(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since {value!r} is not a date like 2026-01-31"
        ) from None


def _date_arg(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


WAIT_HELP = "when another run holds the warehouse, wait for it (default: skip, exit 0)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fourkeys", description="The Four Keys (DORA metrics) per team.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log lines as text (default) or JSON lines")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("extract", help="pull GitHub/GHES/Heroku data into the warehouse")
    p.add_argument("--config")
    p.add_argument("--wait", action="store_true", help=WAIT_HELP)
    p.add_argument("--since", type=_since, help="re-read from this date (YYYY-MM-DD)")
    p.add_argument("--full-refresh", action="store_true", help="ignore watermarks")

    p = sub.add_parser("transform", help="build the marts with dbt and publish them")
    p.add_argument("--config")
    p.add_argument("--wait", action="store_true", help=WAIT_HELP)
    p.add_argument("--full-refresh", action="store_true", help="rebuild incremental marts whole")
    p.add_argument("--as-of", type=_date_arg, default=None,
                   help="end (exclusive) of dora_summary's trailing window; default today")

    p = sub.add_parser("run", help="extract + transform + publish")
    p.add_argument("--config")
    p.add_argument("--wait", action="store_true", help=WAIT_HELP)
    p.add_argument("--since", type=_since, help="re-read from this date (YYYY-MM-DD)")
    p.add_argument("--full-refresh", action="store_true",
                   help="ignore watermarks and rebuild incremental marts whole")
    p.add_argument("--as-of", type=_date_arg, default=None,
                   help="end (exclusive) of dora_summary's trailing window; default today")

    p = sub.add_parser("sql", help="query the published marts (read-only)")
    p.add_argument("--config")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("query", help='e.g. "select * from metrics_weekly limit 5"')

    p = sub.add_parser("dashboard", help="serve the team dashboards on the published marts")
    p.add_argument("--config")
    p.add_argument("--port", type=int, default=8501)

    p = sub.add_parser("docs", help="serve the dbt docs (lineage graph, column docs)")
    p.add_argument("--config")
    p.add_argument("--port", type=int, default=8080)

    p = sub.add_parser("fake-api", help="serve a scenario as fake GitHub/Heroku APIs")
    p.add_argument("--scenario", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--faults", default=None, help="e.g. 502@graphql:3,429@rest:1")

    p = sub.add_parser("doctor", help="check config, tokens, sources, warehouse and dbt")
    p.add_argument("--config")

    p = sub.add_parser("incident-bot", help="serve the Slack incident bot")
    p.add_argument("--config")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)

    p = sub.add_parser("import-incidents",
                       help="import incidents (Slack bot, PagerDuty, CSV) into the warehouse")
    p.add_argument("--config")
    p.add_argument("--wait", action="store_true", help=WAIT_HELP)

    p = sub.add_parser("import-requests",
                       help="count requests and 5xx per service and minute from request logs")
    p.add_argument("--config")
    p.add_argument("--wait", action="store_true", help=WAIT_HELP)
    p.add_argument("--service", help="the service of lines that name none ([requests] service)")
    p.add_argument("--format", dest="log_format_of_files", choices=("auto", "json", "combined"),
                   default="auto", help="JSON lines or the nginx/Apache combined format")
    p.add_argument("files", nargs="+", metavar="FILE")

    p = sub.add_parser("demo", help="generate an organisation, serve it, extract it")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", default="data/demo", help="where the demo config and warehouse go")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--dashboard-port", type=int, default=8501)
    p.add_argument("--no-dashboard", action="store_true",
                   help="build the demo warehouse and stop (no dashboard)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from fourkeys.logs import redact, setup_logging

    setup_logging(args.verbose, args.log_format)
    from fourkeys.lock import AlreadyRunning

    def say(level: str, text: str) -> None:
        """The command's last word: one line on stderr, a JSON object with --log-format json."""
        text = redact(text)
        if args.log_format == "json":
            print(json.dumps({"level": level, "logger": "fourkeys", "message": text}),
                  file=sys.stderr)
        else:
            prefix = {"error": "error: ", "internal": "internal error: "}.get(level, "")
            print(f"fourkeys: {prefix}{text}", file=sys.stderr)

    try:
        return _dispatch(args)
    except AlreadyRunning as exc:
        say("info", f"another fourkeys command holds {exc.lock_path}; skipped "
            "(nothing written; --wait waits for it)")
        return 0
    except FourKeysError as exc:
        say("error", exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        say("info", "interrupted; re-run to resume (nothing is lost)")
        return 2
    except Exception as exc:  # a bug: still one line, with the trace at debug level
        log.debug("internal error", exc_info=True)
        say("internal", f"{type(exc).__name__}: {exc} "
            "(re-run with -v for details and report it)")
        return 3


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "extract":
        from fourkeys.commands import extract_command

        return extract_command(args.config, since=args.since, full_refresh=args.full_refresh,
                               wait=args.wait)
    if args.command == "transform":
        from fourkeys.commands import transform_command

        return transform_command(args.config, full_refresh=args.full_refresh, as_of=args.as_of,
                                 wait=args.wait)
    if args.command == "run":
        from fourkeys.commands import run_command

        return run_command(args.config, since=args.since, full_refresh=args.full_refresh,
                           wait=args.wait, as_of=args.as_of)
    if args.command == "fake-api":
        from fourkeys.commands import fake_api_command

        return fake_api_command(args.scenario, args.host, args.port, args.faults)
    if args.command == "demo":
        from fourkeys.commands import demo_command

        return demo_command(args.dir, args.port, args.seed,
                            dashboard_port=None if args.no_dashboard else args.dashboard_port)
    if args.command == "sql":
        from fourkeys.commands import sql_command

        return sql_command(args.config, args.query, args.format)
    if args.command == "dashboard":
        from fourkeys.commands import dashboard_command

        return dashboard_command(args.config, args.port)
    if args.command == "docs":
        from fourkeys.commands import docs_command

        return docs_command(args.config, args.port)
    if args.command == "doctor":
        from fourkeys.doctor import doctor_command

        return doctor_command(args.config)
    if args.command == "incident-bot":
        from fourkeys.commands import incident_bot_command

        return incident_bot_command(args.config, args.host, args.port)
    if args.command == "import-incidents":
        from fourkeys.commands import import_incidents_command

        return import_incidents_command(args.config, wait=args.wait)
    if args.command == "import-requests":
        from fourkeys.commands import import_requests_command

        return import_requests_command(args.config, args.files, service=args.service,
                                       file_format=args.log_format_of_files, wait=args.wait)
    raise FourKeysError(f"unknown command {args.command}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
