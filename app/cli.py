"""`ops-backend`: serve the API (embedded PostgreSQL when DATABASE_URL is unset) and migrate."""

from __future__ import annotations

import argparse
import atexit
import importlib.util
import logging
import os
import shutil
import signal
import sys
import tempfile

from app.core.dev_tokens import ensure_dev_tokens
from app.core.logging import configure_logging, logging_config
from app.core.settings import Settings, SettingsError, get_settings

log = logging.getLogger("ops_backend")


def _database_url(settings: Settings) -> str:
    """The configured server, or the embedded one started now (never both)."""
    if settings.DATABASE_URL:
        return settings.DATABASE_URL
    if importlib.util.find_spec("pgserver") is None:  # the `embedded` extra; not in the image
        raise SettingsError(
            "DATABASE_URL is not set and the embedded database is not installed "
            "(pip install -e '.[embedded]', or set DATABASE_URL)"
        )
    from app.core.embedded_db import start_embedded

    url = start_embedded(settings.state_dir)
    os.environ["DATABASE_URL"] = url  # uvicorn workers read their settings from the environment
    get_settings.cache_clear()
    return url


def _prepare_multiprocess_metrics(workers: int) -> None:
    """With several workers, Prometheus metrics are aggregated through files in a private
    temporary directory (never the shared data volume: replicas would mix their counters)."""
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    path = tempfile.mkdtemp(prefix="ops-backend-metrics-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from app.core import migrations

    url = _database_url(settings)
    if args.downgrade:
        migrations.downgrade(url, args.downgrade)
        log.info("downgraded", extra={"revision": args.downgrade})
    else:
        migrations.upgrade(url, args.revision)
        log.info("migrated", extra={"revision": args.revision})
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.core import migrations

    if ensure_dev_tokens(settings):
        get_settings.cache_clear()
    url = _database_url(settings)
    if not args.no_migrate:
        migrations.upgrade(url)
    host, port = args.host or settings.HOST, args.port or settings.PORT
    workers = args.workers or settings.WORKERS
    _prepare_multiprocess_metrics(workers)
    # uvicorn re-raises SIGTERM after its graceful shutdown; with the default handler the
    # process would die before atexit, leaving the embedded PostgreSQL running.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    log.info("starting", extra={"host": host, "port": port, "workers": workers})
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=args.access_log,
        # Applied in each worker process too: JSON, redacted, INFO kept, at any worker count.
        log_config=logging_config(settings.LOG_LEVEL),
        log_level=settings.LOG_LEVEL.lower(),
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_graceful_shutdown=20,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops-backend", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service (migrates first)")
    serve.add_argument("--host", help="default: HOST (127.0.0.1; 0.0.0.0 in the image)")
    serve.add_argument("--port", type=int, help="default: PORT (8080)")
    serve.add_argument("--workers", type=int, help="default: WORKERS (1)")
    serve.add_argument("--no-migrate", action="store_true", help="do not run migrations first")
    serve.add_argument("--access-log", action="store_true", help="log every request (off: speed)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.set_defaults(func=cmd_serve)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.add_argument("--downgrade", metavar="REVISION", help="downgrade to REVISION instead")
    migrate.set_defaults(func=cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        configure_logging(settings.LOG_LEVEL)
        result: int = args.func(args, settings)
    except SettingsError as exc:
        print(f"ops-backend: {exc}", file=sys.stderr)  # noqa: T201 - logging may not be set up
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
