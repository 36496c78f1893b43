"""The header's phone menu and the 404 page, as rendered components (the browser test drives them)."""

from __future__ import annotations

from maxxit_ui.components.layout import LEADERBOARD_ID, NAV_LINKS, header, link_button
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


def test_a_link_button_is_a_link_with_the_id_around_a_button_with_its_icon_and_text():
    rendered = str(
        link_button(
            "pencil", "Edit", "/agents/3/edit", element_id="edit-3", icon_size=14, variant="soft"
        ).render()
    )
    assert '"/agents/3/edit"' in rendered and '"edit-3"' in rendered
    assert rendered.index("ReactRouterLink") < rendered.index("RadixThemesButton") < rendered.index("Pencil")
    assert '"soft"' in rendered and "14" in rendered and '"Edit"' in rendered
