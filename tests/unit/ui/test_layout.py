"""The header's phone menu and the 404 page, as rendered components (the browser test drives them)."""

from __future__ import annotations

from maxxit_ui.components.layout import LEADERBOARD_ID, NAV_LINKS, header
from maxxit_ui.pages.not_found import ROUTE, not_found


def test_the_header_offers_every_link_twice_inline_from_768_px_and_in_the_phone_menu():
    rendered = str(header().render())
    for text, href in NAV_LINKS:
        assert f'"nav-{text.lower()}"' in rendered
        assert f'"menu-{text.lower()}"' in rendered
        assert f'"{href}"' in rendered
    assert '"nav-menu"' in rendered
    assert ("Leaderboard", f"/#{LEADERBOARD_ID}") in NAV_LINKS


def test_the_404_page_has_the_header_and_ways_back():
    rendered = str(not_found().render())
    assert ROUTE == "404"  # Reflex serves this slug for every unknown route
    assert '"nav-home"' in rendered and '"not-found"' in rendered
    assert '"not-found-home"' in rendered and '"not-found-marketplace"' in rendered
