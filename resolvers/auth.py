"""Accounts: sign-up-or-login, bearer tokens, logout, and resolving a token to its user."""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from core import logs, metrics
from core.background import Background
from core.quoting import quoted
from core.security import PasswordService, announce_revocation, new_token, token_digest
from core.time import as_utc, utcnow
from documents import Session, User, doc_id, get_by_id
from documents.transient import retry_transient
from language.style import DEFAULT_CUSTOM
from resolvers.context import Context, Services
from resolvers.errors import CodedError, ErrorCode, bad_input, not_found, rate_limited, unauthenticated

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,32}")
PASSWORD_MIN, PASSWORD_MAX = 8, 128
WRONG_CREDENTIALS = "Wrong username or password"
_TOUCH_EVERY = timedelta(minutes=1)
_login_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


@dataclass(frozen=True)
class LoginOutcome:
    """What `login` returns: `message` is "signup" for a new account, "login" otherwise."""

    message: str
    user_id: str
    token: str


def validate_credentials(*, username: str, password: str) -> str:
    """Check the shape of a username and password; returns the username to use."""
    validate_username(username)
    validate_password(password)
    return username


def validate_username(username: str) -> str:
    """Check the shape of a username; returns it."""
    if not USERNAME_RE.fullmatch(username):  # `$` would accept "victim\n"
        raise bad_input("Usernames are 3 to 32 characters: letters, digits, '_', '.' or '-'", field="username")
    return username


def validate_password(password: str) -> None:
    """Check the length of a password."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise bad_input(f"Passwords are {PASSWORD_MIN} to {PASSWORD_MAX} characters long", field="password")


async def login(*, ctx: Context, username: str, password: str) -> LoginOutcome:
    """Create the account on first use, otherwise verify the password; either way issue a token.

    Attempts for one username are serialised within the process, so aliased `login` fields in a
    single operation are counted one by one against the backoff rather than all at once.
    """
    username = validate_credentials(username=username, password=password)
    services = ctx.services
    lock = _login_locks.setdefault(username, asyncio.Lock())
    async with lock:
        wait = await services.login_backoff.retry_after(username=username)
        if wait:
            metrics.LOGIN_FAILURES.labels(reason="throttled").inc()
            raise rate_limited(f"Too many failed logins; try again in {wait} s", retry_after=wait)
        user = await User.find_one(User.username == username)
        if user is None:
            user, message = await _signup(services=services, username=username, password=password)
        else:
            await _check_password(services=services, user=user, password=password)
            message = "login"
        await services.login_backoff.clear(username=username)
    token = await issue_token(services=services, user_id=doc_id(user))
    return LoginOutcome(message=message, user_id=str(user.id), token=token)


async def _signup(*, services: Services, username: str, password: str) -> tuple[User, str]:
    user, created = await create_account(username=username, password_hash=await services.passwords.hash(password))
    if not created:
        # Someone signed up with the same name a moment ago: this is now a login.
        await _check_password(services=services, user=user, password=password)
        return user, "login"
    return user, "signup"


async def create_account(*, username: str, password_hash: str | None, legacy_access: bool = False) -> tuple[User, bool]:
    """Store a new account with the default instructions: (it, True); (the existing one, False) when
    the name was taken meanwhile. Without `password_hash` the account is legacy-only (see `set_password`)."""
    user = User(
        username=username, password_hash=password_hash, legacy_access=legacy_access, custom=list(DEFAULT_CUSTOM)
    )
    try:
        await retry_transient(user.insert, what="sign up")
    except DuplicateKeyError:
        existing = await User.find_one(User.username == username)
        if existing is None:
            raise
        return existing, False
    return user, True


async def _check_password(*, services: Services, user: User, password: str) -> None:
    if user.password_hash is None:
        raise CodedError(
            "This account was created by the original app and has no password yet; "
            "the operator sets one with `briefing users set-password NAME`",
            code=ErrorCode.PASSWORD_NOT_SET,
        )
    if not await services.passwords.verify(password_hash=user.password_hash, password=password):
        await services.login_backoff.record_failure(username=user.username)
        metrics.LOGIN_FAILURES.labels(reason="wrong_password").inc()
        raise unauthenticated(WRONG_CREDENTIALS)


async def issue_token(*, services: Services, user_id: PydanticObjectId) -> str:
    """Store a new session for the user and return its bearer token (shown once, stored hashed)."""
    token = new_token()
    now = utcnow()
    ttl = timedelta(hours=services.settings.token_ttl_hours)
    digest = token_digest(token)
    session = Session(
        id=digest, token_hash=digest, user_id=user_id, created_at=now, last_used_at=now, expires_at=now + ttl
    )
    await retry_transient(session.insert, what="store a session")
    return token


@dataclass(frozen=True)
class SignedIn:
    """Who a valid token signs in, the token's digest, and when the token expires at the latest."""

    user: User
    token_hash: str
    expires_at: datetime


async def authenticate(*, services: Services, authorization: str | None) -> tuple[User, str] | None:
    """The user and token digest behind an `Authorization: Bearer` value, or None when invalid.

    A session expires at its absolute `expires_at` and after `token_idle_hours` without use.
    """
    found = await authenticate_session(services=services, authorization=authorization)
    return None if found is None else (found.user, found.token_hash)


_touched: dict[str, float] = {}  # token digest -> monotonic time this process last wrote its last_used_at
_TOUCHED_MAX = 10_000


_touches = Background[object]()


def _touch_later(*, session_id: object, at: datetime) -> None:
    """Write a session's `last_used_at` off the request's path: after an API restart the first
    socket of every user would otherwise wait for its write, queued behind the others' on a store
    that serialises writes, before its `connection_ack`. The idle expiry it feeds counts in hours."""

    async def touch(sessions: list[object]) -> None:
        for session in sessions:
            await Session.find_one(Session.id == session).update({"$set": {"last_used_at": at}})

    _touches.run([session_id], touch, what="recording the use of a session")


def _first_touch(digest: str) -> bool:
    """Whether this process should write the session's `last_used_at` now: once per `_TOUCH_EVERY` per
    token, however many of its sockets connect at once (twenty sockets of one user reconnecting after
    an API restart are one write, not twenty, on a store that serialises writes)."""
    clock = time.monotonic()
    last = _touched.get(digest)
    if last is not None and clock - last < _TOUCH_EVERY.total_seconds():
        return False
    if len(_touched) >= _TOUCHED_MAX:
        _touched.clear()
    _touched[digest] = clock
    return True


async def authenticate_session(*, services: Services, authorization: str | None) -> SignedIn | None:
    """As `authenticate`, with the session's absolute expiry (a socket is closed when it passes)."""
    token = _bearer(authorization)
    if token is None:
        return None
    digest = token_digest(token)
    session = await get_by_id(Session, digest) or await Session.find_one(Session.token_hash == digest)
    if session is None:
        return None
    now = utcnow()
    idle = timedelta(hours=services.settings.token_idle_hours)
    if as_utc(session.expires_at) <= now or as_utc(session.last_used_at) + idle <= now:
        await session.delete()
        return None
    user = await get_by_id(User, session.user_id)
    if user is None:
        return None
    if now - as_utc(session.last_used_at) >= _TOUCH_EVERY and _first_touch(digest):
        _touch_later(session_id=session.id, at=now)
    logs.bind(user_id=str(user.id))  # this request's (or connection's) log lines name the user
    return SignedIn(user=user, token_hash=digest, expires_at=as_utc(session.expires_at))


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    return token


async def logout(*, ctx: Context) -> bool:
    """Revoke the token this request was made with; sockets it opened, on any API process, are closed (4403)
    within `BRIEFING_WS_REVOCATION_CHECK_SECONDS`."""
    digest = ctx.token_hash
    if digest is None:
        raise unauthenticated()
    await Session.find(Session.token_hash == digest).delete()
    await announce_revocation(redis=ctx.services.redis, digests=[digest])
    ctx.user, ctx.token_hash = None, None
    return True


def require_user(ctx: Context) -> User:
    """The signed-in user (permissions already ensured there is one)."""
    if ctx.user is None:
        raise unauthenticated()
    return ctx.user


async def set_password(*, passwords: PasswordService, username: str, password: str) -> User:
    """Give an account a (new) password, as the operator does (`briefing users set-password NAME`).

    The account's sessions are revoked; a legacy-only account can then also sign in through GraphQL.
    """
    validate_password(password)
    user = await User.find_one(User.username == username)
    if user is None:
        raise not_found(f"User {quoted(username)}")
    user_id, digest = doc_id(user), await passwords.hash(password)
    await retry_transient(
        lambda: User.find_one(User.id == user_id).update({"$set": {"password_hash": digest}}), what="set a password"
    )
    user.password_hash = digest
    await Session.find(Session.user_id == user_id).delete()
    return user
