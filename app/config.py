"""All configuration comes from environment variables prefixed BATON_."""

from functools import lru_cache
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The project's folder: templates, static files, migrations and the example catalog.
ROOT = Path(__file__).resolve().parent.parent
DEMO_SECRET = "baton-demo-secret-not-for-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BATON_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    secret_key: str = ""
    demo_mode: bool = False
    # Secure (sent over HTTPS only, with HSTS) unless configured otherwise or in demo
    # mode, which is served over plain HTTP on a laptop: see _defaults.
    cookie_secure: bool = True
    session_days: int = 14
    max_upload_mb: int = 20
    pool_size: int = 5
    # How long uvicorn waits for a worker process to answer its health check (and so to
    # start) before killing it: on a busy host importing the app alone took over 5 s,
    # uvicorn's default, and workers were killed while starting (`baton serve`).
    startup_timeout: int = 60
    max_overflow: int = 10
    # One log line per request costs a measurable share of a worker's time; benchmarks
    # (and deployments whose proxy already logs requests) turn it off with 0.
    access_log: bool = True
    # How long a queue page may be served again from a worker's memory while nothing it
    # shows has changed (app.web.page_cache); its ages and due times are that much older.
    # 0 renders every page.
    queue_page_seconds: float = 10
    # How long a connection may take to send a request's line and headers
    # (app.web.server_protocol); an idle new connection is closed after as long.
    header_seconds: float = 10
    # Requests one API token may make in a minute (app.rules.api_tokens.count_use); past
    # it the API answers 429 with Retry-After until the minute is over.
    api_requests_per_minute: int = 600
    # Tricks for speed, each behind a switch; with any of them off every page is the same
    # (tests/test_speed_switches.py), only slower or larger.
    # End a PostgreSQL request that only read with COMMIT, not ROLLBACK
    # (app.storage.db.end_request).
    commit_reads: bool = True
    # Open a request's session and read who is asking in one trip to the thread pool
    # (app.web.one_trip_session).
    one_trip_session: bool = True
    # On PostgreSQL, run the statements of the routes that only read (the request and
    # queue pages and their polls) without BEGIN and COMMIT around them
    # (app.web.reads_alone).
    reads_alone: bool = True
    # Keep what pages read of the directory (a team by its address, its members, a
    # person's saved views, the services' names) per directory version
    # (app.storage.directory_cache).
    directory_cache: bool = True
    # Read the rows of the statements the pages asked most run (who is asking, the
    # request page's, a queue's first page's, the poll's) straight from the driver's
    # cursor (app.storage.driver_reads).
    driver_reads: bool = True
    # On SQLite, every Nth write transaction has the write-ahead log copied back into the
    # database file on a thread of its own, not in the request that fills the log; 0
    # leaves it to SQLite (app.storage.sqlite_checkpoints).
    sqlite_checkpoint_every: int = 8
    # glibc malloc arenas per worker process; 0 leaves the C library's default
    # (app.web.process_tuning).
    malloc_arenas: int = 2
    # Size in KiB from which glibc gives freed memory back to the system at once (its
    # mmap and trim thresholds); 0 leaves the C library's own, which grow with use
    # (app.web.process_tuning).
    malloc_release_kib: int = 128
    # Move what start-up imported out of the garbage collector's sight (app.web.process_tuning).
    freeze_gc: bool = True

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'baton.db'}"
        if not self.secret_key and self.demo_mode:
            self.secret_key = DEMO_SECRET
        if self.demo_mode and "cookie_secure" not in self.model_fields_set:
            self.cookie_secure = False
        return self

    def require_secret_key(self) -> None:
        """A guessable key would let anyone forge session hashes, so only the demo may
        serve without one. Commands that never touch sessions (migrate, import) skip this."""
        if not self.secret_key:
            raise SystemExit("BATON_SECRET_KEY must be set (or run `baton demo`).")

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"


@lru_cache
def get_settings() -> Settings:
    return Settings()
