"""A button's address asked for as a page: where a person lands who reloads the address
bar after a form came back with an error (the address shown is then the form's post
address, /services/laptop/requests), or who follows a copied one.

Such an address is one of a page's buttons (/tasks/7/claim, /requests/7/comments): the
page it belongs to is the nearest address above it that is a page (/tasks/7,
/requests/7). Going there is what the person meant; nothing is posted again."""

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match


def page_above(path: str, routes: Iterable[BaseRoute]) -> str | None:
    """The nearest address above `path` that answers a GET with a page, as a path of this
    site; None when there is none but the root, which says nothing of where the button
    was."""
    pages = [route for route in routes if "GET" in (getattr(route, "methods", None) or ())]
    above = path.rstrip("/")
    while "/" in above.lstrip("/"):
        above = above.rsplit("/", 1)[0]
        scope = {"type": "http", "path": above, "method": "GET"}
        if any(route.matches(scope)[0] == Match.FULL for route in pages):
            return above
    return None
