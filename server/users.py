"""`briefing users …`: the operator's account commands (CLI glue; the decisions are in `resolvers.auth`)."""

from __future__ import annotations

import asyncio
import getpass
import sys

from core.security import PasswordService
from core.settings import Settings
from documents import connect_documents
from resolvers import auth
from resolvers.errors import CodedError


def set_password_command(settings: Settings, *, username: str) -> int:
    """Set an account's password, read from the terminal (twice) or from the first line of stdin.

    This is how an account the original app created (no password) can sign in through GraphQL.
    Returns the exit status.
    """
    if sys.stdin.isatty():
        password = getpass.getpass(f"New password for {username}: ")
        if getpass.getpass("Again: ") != password:
            print("The passwords differ; nothing was changed.", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        asyncio.run(_set_password(settings, username=username, password=password))
    except CodedError as error:
        print(f"{error.message}; nothing was changed.", file=sys.stderr)
        return 1
    print(f"Password set for {username}; its sessions were signed out.")
    return 0


async def _set_password(settings: Settings, *, username: str, password: str) -> None:
    client = await connect_documents(mongodb_uri=settings.mongodb_uri)
    try:
        await auth.set_password(
            passwords=PasswordService(concurrency=settings.hash_concurrency), username=username, password=password
        )
    finally:
        await client.close()
