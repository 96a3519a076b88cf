"""A PostgreSQL server of a test's own: initdb into a temporary folder, its own port on
127.0.0.1 and its own unix socket folder, started, stopped and restarted at will, and
removed at the end. Tests that stop, restart or kill a database use this, never the
machine's shared server (which other people's connections rely on).

As root, PostgreSQL refuses to run: the server runs as the `postgres` user (or, when
that account does not exist, cannot be made to run at all: the tests skip)."""

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from glob import glob
from pathlib import Path

from sqlalchemy import create_engine, text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout), or the folder of
    `initdb` on the PATH; None when there is none."""

    def version(folder: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", folder)) or (0,)

    for initdb in sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True):
        return Path(initdb).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def why_unavailable() -> str | None:
    """None when a private server can be made here, else the reason it cannot."""
    if find_binaries() is None:
        return "no PostgreSQL binaries (initdb) in /usr/lib/postgresql/*/bin or on the PATH"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run PostgreSQL as"
    return None


class PrivatePostgreSQL:
    """One throwaway cluster. `start()` makes and starts it; `remove()` stops it however
    it is and deletes every file of it (call it from a finalizer)."""

    def __init__(self) -> None:
        binaries = find_binaries()
        assert binaries is not None, why_unavailable()
        self.bin = binaries
        self.port = _free_port()
        # Not under pytest's tmp_path: as root that folder is closed to `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="baton-private-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def _run(self, *command: str, timeout: float = 120) -> None:
        done = subprocess.run([*self.as_owner, str(self.bin / command[0]), *command[1:]],
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed ({done.returncode}):\n{done.stdout}"
                               f"{done.stderr}\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-sync", "--locale=C")
        # fsync off: the tests kill Baton, not this server, and a clean restart loses
        # nothing without it.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """What an operator's restart does: a fast shutdown (every session is ended,
        new ones are told the database is shutting down), then a start."""
        self.stop()
        self.start()

    def is_running(self) -> bool:
        status = subprocess.run([*self.as_owner, str(self.bin / "pg_ctl"), "-D",
                                 str(self.data), "status"], capture_output=True, timeout=30)
        return status.returncode == 0

    def remove(self) -> None:
        try:
            if self.data.exists() and self.is_running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database on this server; its URL."""
        server = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            server.dispose()
        return self.url(name)
