"""The `briefing` command: `briefing serve` runs the API, `briefing worker` runs a tick worker."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from core.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="briefing", description="Bangguseok Briefing service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the GraphQL API server")
    serve.add_argument("--host", default=None, help="bind address (default BRIEFING_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default BRIEFING_PORT)")
    commands.add_parser("worker", help="run a briefing tick worker (arq)")
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `briefing` console script."""
    args = _parser().parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.command == "serve":
        from server.app import create_app

        uvicorn.run(
            create_app(settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
            log_level=settings.log_level.lower(),
            ws_max_size=65536,
        )
    elif args.command == "worker":
        from workers.runner import run_worker

        run_worker(settings)


if __name__ == "__main__":
    main()
