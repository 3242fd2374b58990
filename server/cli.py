"""The `briefing` command: `briefing serve` runs the API, `briefing worker` runs a tick worker,
`briefing users set-password NAME` sets an account's password, `briefing schema` prints the SDL."""

from __future__ import annotations

import argparse

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from core.logs import configure_logging
from core.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="briefing", description="Bangguseok Briefing service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the GraphQL API server")
    serve.add_argument("--host", default=None, help="bind address (default BRIEFING_HOST)")
    serve.add_argument("--port", type=int, default=None, help="port (default BRIEFING_PORT)")
    commands.add_parser("worker", help="run a briefing tick worker (arq)")
    users = commands.add_parser("users", help="manage accounts").add_subparsers(dest="users_command", required=True)
    set_password = users.add_parser("set-password", help="set an account's password (read from the terminal or stdin)")
    set_password.add_argument("name", help="the account's username")
    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL) the API serves")
    schema.add_argument(
        "--write",
        action="store_true",
        help="write schema.graphql and web/possible-types.json in the repository instead of printing",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `briefing` console script."""
    args = _parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    if args.command == "serve":
        from server.app import create_app
        from server.wsprotocol import CorkedWebSocketProtocol

        uvicorn.run(
            create_app(settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
            log_level=settings.log_level.lower(),
            log_config=None if settings.log_format == "json" else LOGGING_CONFIG,  # JSON: uvicorn logs through ours
            ws_max_size=65536,
            ws_per_message_deflate=settings.ws_per_message_deflate,
            ws=CorkedWebSocketProtocol if settings.ws_coalesce_writes else "auto",
        )
    elif args.command == "worker":
        from workers.runner import run_worker

        run_worker(settings)
    elif args.command == "users":
        from server.users import set_password_command

        raise SystemExit(set_password_command(settings, username=args.name))
    elif args.command == "schema":
        from server.sdl import schema_sdl, write_schema_files

        if args.write:
            for path in write_schema_files(settings):
                print(f"wrote {path}")
        else:
            print(schema_sdl(settings), end="")


if __name__ == "__main__":
    main()
