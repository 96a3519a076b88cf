"""A megabyte answer posted to the request form is refused at once, next to its field
(issue 12, item 1): the whole way in, from the multipart body to the re-rendered form."""

import html
import re
import time
from pathlib import Path

import pytest
from sqlmodel import Session

from app.rules.catalog import current_version, definition_of, get_service_by_slug, import_catalog
from app.storage.models import Service, User
from tests.factories import Factory
from tests.test_intake_bounds import expected_error
from tests.web import WebClient

SERVICES = Path(__file__).parent.parent.parent / "services"
MEGABYTE = 1_000_000  # under the multipart parser's 1 MiB a field, as a browser could send


@pytest.fixture
def employee(session: Session, make: Factory, web: WebClient) -> User:
    import_catalog(session, SERVICES)
    user = make.user("Erin Employee")
    web.login(user)
    return user


def field_error(page: str, key: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="f-{key}-error">(.*?)</p>', page, re.DOTALL)
    return html.unescape(found.group(1)).strip() if found else None


# Between them, every field type (purchase: number; onboarding: the rest).
@pytest.mark.parametrize("slug", ["onboard-new-hire", "purchase-request", "laptop-request"])
def test_a_megabyte_answer_to_any_field_is_a_field_error_at_once(
    web: WebClient, session: Session, employee: User, slug: str,
) -> None:
    service = get_service_by_slug(session, slug)
    assert isinstance(service, Service)
    version = current_version(session, service)
    definition = definition_of(version)
    for field in definition.fields:
        for hostile in ("x" * MEGABYTE, "<a" * (MEGABYTE // 2)):
            started = time.process_time()
            response = web.post(
                f"/services/{slug}/requests",
                {"version_id": str(version.id), field.key: hostile},
                # Multipart, as the page's form is.
                files=[("no_such_field", ("", b"", "application/octet-stream"))],
            )
            spent = time.process_time() - started
            assert response.status_code == 422, (field.key, response.status_code)
            expected = expected_error(field)
            shown = field_error(response.text, field.key)
            if expected is None or definition.shown_if(field.key) is not None:
                # No message due, or a field shown only after an answer not given here:
                # hidden, so its answer is dropped unread.
                assert shown is None, field.key
            else:
                assert shown is not None and shown.startswith(expected), (field.key, shown)
            # Reading a megabyte body and rendering the form again with the answer kept:
            # linear work, a small part of a second.
            assert spent < 1.0, (field.key, f"{spent:.2f} s of CPU")
