"""The `baton` command."""

import argparse
import errno
import getpass
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session

from app.config import ROOT


def _session() -> Session:
    from app.storage.db import get_engine

    return Session(get_engine(), expire_on_commit=False)


def _sweep_attachments() -> None:
    """Brings the attachments folder back to its invariant after a crash (see
    app.rules.attachments): files left at a temporary name before serving (few: those of the
    submissions a crash cut off), final files without a row in a thread alongside (they
    are found by reading every request's folder). A sweep that fails is reported and
    stops nothing: it runs again at the next start."""
    import threading

    from app.config import get_settings
    from app.rules.attachments import SweepReport, sweep_orphans, sweep_temporary

    folder = get_settings().attachments_dir

    def run(part: Callable[[Session, Path, SweepReport], None]) -> None:
        report = SweepReport()
        try:
            with _session() as session:
                part(session, folder, report)
        except Exception as error:  # noqa: BLE001 (reported; serving goes on)
            print(f"Attachments sweep failed ({error}); it runs again at the next start.",
                  file=sys.stderr)
        if report:
            print(f"Attachments sweep: {len(report.moved)} moved into place, "
                  f"{len(report.deleted_temporary)} unfinished uploads and "
                  f"{len(report.deleted_orphans)} files without a request deleted.")

    run(sweep_temporary)
    threading.Thread(target=run, args=(sweep_orphans,), name="baton-sweep",
                     daemon=True).start()


def _refuse_a_taken_port(host: str, port: int) -> None:
    """Says plainly, and exits 1, when the address cannot be listened on (another program
    has the port): before the demo spends seconds loading, and before uvicorn's own
    "[Errno 98]" line. A probe bound and closed at once, with SO_REUSEADDR as uvicorn
    binds (a port left in TIME_WAIT is free; one with a listener is not)."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            print(f"Port {port} on {host} is already in use by another program: stop it, "
                  "or choose another port with --port.", file=sys.stderr)
        else:
            print(f"Baton cannot listen on {host}:{port}: {error.strerror or error}.",
                  file=sys.stderr)
        raise SystemExit(1) from None


class _SayWhereWhenListening(logging.Filter):
    """Prints "Baton runs at …" when uvicorn reports its socket listening (with one
    worker and with several), so the line never appears for a port that was not bound."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Uvicorn running on"):
            print(f"Baton runs at {self.url}", flush=True)
        return True


APP_FACTORY = "app.main:create_app"


def serve(args: argparse.Namespace, *, factory: str = APP_FACTORY) -> None:
    """Serves the application `factory` makes (bench.route_floor serves Baton's with
    routes of its own added, under these same settings)."""
    import uvicorn

    from app.config import get_settings

    settings = get_settings()
    settings.require_secret_key()
    _refuse_a_taken_port(args.host, args.port)
    _sweep_attachments()
    logging.getLogger("uvicorn.error").addFilter(
        _SayWhereWhenListening(f"http://{args.host}:{args.port}"))
    uvicorn.run(factory, factory=True, host=args.host, port=args.port,
                workers=args.workers, proxy_headers=True, log_level="info",
                access_log=settings.access_log,
                # Header size and time limits (app.web.server_protocol); idle kept-alive
                # connections close after uvicorn's 5 s.
                http="app.web.server_protocol:GuardedHttpToolsProtocol",
                timeout_worker_healthcheck=args.startup_timeout or settings.startup_timeout)


def cmd_serve(args: argparse.Namespace) -> None:
    serve(args)


def cmd_recount(_args: argparse.Namespace) -> None:
    from sqlmodel import Session

    from app.reads.task_rows import copy_missing_request_titles
    from app.storage import flow_figures
    from app.storage.db import begin_write, get_engine
    from app.storage.work_counts import recount

    with Session(get_engine()) as session:
        begin_write(session)
        recount(session)
        titled = copy_missing_request_titles(session)
        before = flow_figures.stored(session)
        flow_figures.recount(session)
        session.commit()
        after = flow_figures.stored(session)
    print("The open work counters match the tasks.")
    if before == after:
        print("The insights' figures matched the history.")
    else:
        print("The insights' figures did not match the history: rebuilt them from it.")
    if titled:
        print(f"Copied their request's title into {titled} tasks that lacked it.")


def cmd_reindex(_args: argparse.Namespace) -> None:
    from sqlmodel import Session

    from app.storage import search_index
    from app.storage.db import begin_write, get_engine

    with Session(get_engine()) as session:
        begin_write(session)
        count = search_index.rebuild(session)
        session.commit()
    print(f"Rebuilt the search index from the requests: {count} requests.")


def cmd_backup(args: argparse.Namespace) -> None:
    from app.config import get_settings
    from app.rules.backup import BackupError, backup

    settings = get_settings()
    try:
        summary = backup(database_url=settings.database_url,
                         attachments_dir=settings.attachments_dir, folder=Path(args.folder))
    except BackupError as error:
        print(error, file=sys.stderr)
        raise SystemExit(1) from None
    print(f"Backed up to {summary.folder}: the {summary.describe()}.")


def cmd_restore(args: argparse.Namespace) -> None:
    from app.config import get_settings
    from app.rules.backup import BackupError, restore

    settings = get_settings()
    try:
        summary = restore(folder=Path(args.folder), database_url=settings.database_url,
                          attachments_dir=settings.attachments_dir, force=args.force)
    except BackupError as error:
        print(error, file=sys.stderr)
        raise SystemExit(1) from None
    print(f"Restored from {summary.folder}: the {summary.describe()}.")
    if summary.removed_files:
        print(f"Removed {len(summary.removed_files)} files of the attachments folder that "
              "the backup does not hold.")
    print("Start Baton again (or restart it) so that no worker serves pages from before.")


def cmd_migrate(_args: argparse.Namespace) -> None:
    from app.config import get_settings
    from app.storage.migrate import upgrade

    settings = get_settings()
    if settings.database_url.startswith("sqlite:///"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    print("Database is at the latest schema.")


def cmd_demo(args: argparse.Namespace) -> None:
    # Demo mode must be on before settings are first read (and in every worker).
    os.environ["BATON_DEMO_MODE"] = "1"
    from app.config import get_settings
    from app.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_demo

    if not args.no_serve:
        _refuse_a_taken_port(args.host, args.port)
    cmd_migrate(args)
    settings = get_settings()
    with _session() as session:
        made = seed_demo(session, services_dir=Path(args.services),
                         attachments_dir=settings.attachments_dir, requests=args.requests)
    if made:
        print(f"Demo data ready: {len(DEMO_PEOPLE)} people, {made} requests.")
    else:
        print("Demo data was already there; catalog files re-imported.")
    print(f"Every demo account's password is {DEMO_PASSWORD!r}; the login page lists them.")
    if not args.no_serve:
        serve(args)


def cmd_catalog_import(args: argparse.Namespace) -> None:
    from app.rules.catalog import CatalogFileError, import_catalog

    with _session() as session:
        try:
            report = import_catalog(session, Path(args.path))
        except CatalogFileError as error:
            print("Nothing was imported. Fix these first:", file=sys.stderr)
            for problem in error.problems:
                print(f"  {problem}", file=sys.stderr)
            raise SystemExit(1) from None
    print(f"Teams created: {report.teams_created}")
    for label, slugs in (("New services", report.services_created),
                         ("New versions", report.services_versioned),
                         ("Unchanged", report.services_unchanged)):
        print(f"{label}: {', '.join(slugs) if slugs else '—'}")


def cmd_catalog_export(args: argparse.Namespace) -> None:
    from app.rules.catalog import export_catalog

    with _session() as session:
        for path in export_catalog(session, Path(args.path)):
            print(path)


def cmd_user_add(args: argparse.Namespace) -> None:
    from app.rules.people import PersonExists, create_person
    from app.rules.teams import add_member, get_team_by_slug

    password = args.password or os.environ.get("BATON_NEW_PASSWORD")
    if not password:
        password = getpass.getpass(f"Password for {args.email}: ")
    if len(password) < 8:
        raise SystemExit("Use a password of at least 8 characters.")
    with _session() as session:
        teams = []
        for slug in args.team:
            team = get_team_by_slug(session, slug)
            if team is None:
                raise SystemExit(f"There is no team '{slug}'.")
            teams.append(team)
        try:
            user = create_person(session, email=args.email, name=args.name or args.email,
                                 password=password, manager=args.manager, admin=args.admin)
        except PersonExists as error:
            raise SystemExit(str(error)) from None
        for team in teams:
            add_member(session, team=team, user=user, lead=args.lead)
        session.commit()
        print(f"Added {user.name} <{user.email}>.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baton", description="Baton, the service-request desk")
    commands = parser.add_subparsers(dest="command", required=True)

    def server_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
        sub.add_argument("--workers", type=int, default=1)
        sub.add_argument(
            "--startup-timeout", type=int, metavar="SECONDS",
            help="how long a worker may take to answer uvicorn's health check (while it "
                 "starts, too) before it is killed; default BATON_STARTUP_TIMEOUT or 60")

    serving = commands.add_parser("serve", help="run the web server")
    server_options(serving)
    serving.set_defaults(func=cmd_serve)

    commands.add_parser("migrate", help="bring the database to the latest schema").set_defaults(
        func=cmd_migrate)
    commands.add_parser(
        "recount", help="rebuild the overview's open work counters from the tasks and "
        "the insights' figures from the history, saying whether they matched (and copy "
        "request titles into tasks an older release wrote)",
    ).set_defaults(func=cmd_recount)
    commands.add_parser(
        "reindex", help="rebuild the search index from the requests (after a bulk "
        "load or a restore from elsewhere)",
    ).set_defaults(func=cmd_reindex)

    backup = commands.add_parser(
        "backup", help="copy the database and the uploaded files into a new folder, "
        "consistently, while Baton serves")
    backup.add_argument("folder")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser(
        "restore", help="check a backup folder and put it back (stop Baton first)")
    restore.add_argument("folder")
    restore.add_argument("--force", action="store_true",
                         help="replace a database that already holds data")
    restore.set_defaults(func=cmd_restore)

    demo = commands.add_parser("demo", help="load demo people, catalog and requests, then serve")
    server_options(demo)
    demo.add_argument("--services", default=str(ROOT / "services"))
    demo.add_argument("--requests", type=int, default=60)
    demo.add_argument("--no-serve", action="store_true", help="load the demo data and stop")
    demo.set_defaults(func=cmd_demo)

    catalog = commands.add_parser("catalog", help="import or export service definitions")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    importer = catalog_commands.add_parser("import", help="import a folder of .toml files")
    importer.add_argument("path")
    importer.set_defaults(func=cmd_catalog_import)
    exporter = catalog_commands.add_parser("export", help="write the catalog to a folder")
    exporter.add_argument("path")
    exporter.set_defaults(func=cmd_catalog_export)

    user = commands.add_parser("user", help="manage people")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    add = user_commands.add_parser("add", help="add a person")
    add.add_argument("email")
    add.add_argument("--name")
    add.add_argument("--password", help="or set BATON_NEW_PASSWORD, or be prompted")
    add.add_argument("--manager", action="store_true")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--team", action="append", default=[], help="team slug (repeatable)")
    add.add_argument("--lead", action="store_true", help="as lead of the given teams")
    add.set_defaults(func=cmd_user_add)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
