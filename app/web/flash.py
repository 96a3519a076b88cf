"""Messages shown once, on the page a form's redirect lands on ("Your request is in").

The message travels in a short-lived cookie scoped to that page's path, not in its
address: the page that shows it deletes the cookie in the same answer, so a reload, the
address copied or bookmarked, or a later visit never shows it again (issue 16, item 5;
`?submitted=1` used to stay in the address and say "Your request is in" under "Rejected
by …" days later). The cookie names one of a few known messages, never text to show.
"""

from fastapi import Request
from fastapi.responses import Response

from app.config import get_settings
from app.web.render import redirect

FLASH_COOKIE = "baton_flash"
# Long enough for a slow redirect, short enough that a page not reached forgets it.
FLASH_SECONDS = 120
MESSAGES = frozenset({"submitted"})


def redirect_with_flash(url: str, message: str, request: Request | None = None) -> Response:
    """The redirect to `url` (a path), carrying `message` for that page alone."""
    assert message in MESSAGES, message
    response = redirect(url, request)
    response.set_cookie(FLASH_COOKIE, message, max_age=FLASH_SECONDS, path=url,
                        httponly=True, samesite="lax", secure=get_settings().cookie_secure)
    return response


def flash_for(request: Request) -> str | None:
    """The message waiting for this page, if any (a page shown, not a form posted)."""
    message = request.cookies.get(FLASH_COOKIE)
    return message if request.method == "GET" and message in MESSAGES else None


def forget_flash(response: Response, path: str) -> None:
    """Deletes the message of the page at `path`: it has been shown."""
    response.delete_cookie(FLASH_COOKIE, path=path, httponly=True, samesite="lax",
                           secure=get_settings().cookie_secure)
