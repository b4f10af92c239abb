"""Sign-in cookies and CSRF tokens of the console: pure functions of a secret, no I/O.

Signing in with the query API's bearer token (``RISKSTREAM_API_TOKEN``) gives a sign-in
cookie that names the person (their user id, as typed on the sign-in form) and is signed
with a key derived from that token: changing the token signs everyone out. Each form and
htmx request carries a CSRF token derived from the sign-in cookie, so a page of another site can
neither read nor forge it (the cookie is also ``SameSite=Strict``).

>>> key = signing_key(SecretStr("a-token-of-16-characters"))
>>> cookie = signin_cookie(key, "ana.k")
>>> cookie_actor(key, cookie), cookie_actor(key, cookie[:-1] + "x"), cookie_actor(key, "")
('ana.k', None, None)
>>> checked_csrf(key, cookie, csrf_token(key, cookie)), checked_csrf(key, cookie, "forged")
(True, False)
"""

import base64
import hashlib
import hmac
import secrets

from pydantic import SecretStr, TypeAdapter, ValidationError

from schemas.events import Actor

COOKIE = "riskstream_console"
_ACTOR = TypeAdapter(Actor)


def signing_key(token: SecretStr | None) -> bytes:
    """The key that signs sign-in cookies: derived from the token, or random when the console
    runs without one (its cookies then hold only as long as its process)."""
    if token is None:
        return secrets.token_bytes(32)
    return hmac.new(token.get_secret_value().encode(), b"riskstream console", "sha256").digest()


def token_matches(token: SecretStr | None, given: str) -> bool:
    """Whether ``given`` is the token (in constant time); anything goes without one."""
    if token is None:
        return True
    return hmac.compare_digest(given.encode(), token.get_secret_value().encode())


def actor_problem(actor: str) -> str | None:
    """Why ``actor`` cannot name who acts (as the review events' ``actor`` field takes it),
    or None.

    >>> actor_problem("ana.k"), actor_problem(""), actor_problem("ana\\tk")
    (None, 'give your user id', 'a user id is 1 to 100 characters, no control characters')
    """
    if not actor:
        return "give your user id"
    try:
        _ACTOR.validate_python(actor)
    except ValidationError:
        return "a user id is 1 to 100 characters, no control characters"
    return None


def _sign(key: bytes, purpose: bytes, value: str) -> str:
    mac = hmac.new(key, purpose + b"\x1f" + value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def signin_cookie(key: bytes, actor: str) -> str:
    """The cookie's value: the actor (base64) and its signature."""
    name = base64.urlsafe_b64encode(actor.encode()).decode().rstrip("=")
    return f"{name}.{_sign(key, b'signin', name)}"


def cookie_actor(key: bytes, cookie: str | None) -> str | None:
    """The actor a sign-in cookie names, or None if it is missing or not signed by ``key``."""
    name, _, signature = (cookie or "").partition(".")
    if not name or not hmac.compare_digest(signature, _sign(key, b"signin", name)):
        return None
    try:
        return base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    except ValueError:
        return None


def csrf_token(key: bytes, cookie: str) -> str:
    """The CSRF token of a sign-in cookie: in every form, and in htmx requests' headers."""
    return _sign(key, b"csrf", cookie)


def checked_csrf(key: bytes, cookie: str, given: str | None) -> bool:
    """Whether ``given`` is the CSRF token of the sign-in ``cookie``."""
    return bool(given) and hmac.compare_digest(str(given), csrf_token(key, cookie))
