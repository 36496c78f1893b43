"""What the verify page does with a token, without a browser: verify for the signed-in user, show a used
link as verified on reload, and refuse another user's link or a bad one."""

from __future__ import annotations

import re

import pytest

from backend.auth.identity import CurrentUser
from backend.auth.ratelimit import MemoryCounter
from backend.models.enums import Role
from backend.notify.email import addresses
from backend.notify.email.errors import EmailNotFound
from maxxit_ui.state.verify_email import _verify


def test_the_page_verifies_its_users_link_once_and_shows_it_verified_after(session, factory, smtp_server):
    owner, stranger = factory.user(), factory.user()
    me = CurrentUser(id=owner.id, address=owner.address, role=Role.TRADER)
    addresses.set_address(session, me, "page@example.com", smtp_server.settings(), counter=MemoryCounter())
    token = re.search(r"token=([A-Za-z0-9_-]+)", smtp_server.received()[-1].part("plain")).group(1)

    with pytest.raises(EmailNotFound):
        _verify(session, stranger.id, token)
    with pytest.raises(EmailNotFound):
        _verify(session, owner.id, "")
    assert _verify(session, owner.id, token) == "page@example.com"
    assert _verify(session, owner.id, token) == "page@example.com"  # reloaded: still verified
    with pytest.raises(EmailNotFound):
        _verify(session, stranger.id, token)
