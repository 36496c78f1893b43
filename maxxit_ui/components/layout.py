"""Page chrome shared by every page: header with navigation, content width, error and empty messages."""

from __future__ import annotations

import reflex as rx

from backend.config import Settings, get_settings
from maxxit_ui.components.bell import bell
from maxxit_ui.components.wallet import wallet_control
from maxxit_ui.state.auth import AuthState

NAV_LINKS: tuple[tuple[str, str], ...] = (
    ("Marketplace", "/marketplace"),
    ("Leaderboard", "/#leaderboard"),
)
CONTENT_WIDTH = "1200px"
DEMO_BANNER_TEXT = "Demo data: simulated prices and posts"
# Below this Radix breakpoint (768 px) the header's links fold into the menu button: on a phone the room
# goes to the logo, the bell and the wallet or account button, each a thumb's target (40 px).
NAV_BREAKPOINT = "md"
HEADER_HEIGHT = "60px"
# The landing page's leaderboard; the header's link scrolls there from any page (see landing.py).
LEADERBOARD_ID = "leaderboard"
SCROLL_TO_LEADERBOARD = (
    f"document.getElementById({LEADERBOARD_ID!r})?.scrollIntoView({{behavior: 'smooth', block: 'start'}})"
)


def on_phones(phone: str, wider: str) -> rx.Var | dict:
    """A responsive value: `phone` below NAV_BREAKPOINT, `wider` from it on."""
    return rx.breakpoints(initial=phone, **{NAV_BREAKPOINT: wider})


def phone_only(*children: rx.Component, **props) -> rx.Component:
    """Shown below NAV_BREAKPOINT only: e.g. a column `hide_below` drops, shown under the row's name."""
    return rx.box(*children, display=on_phones("block", "none"), **props)


def _nav_click(href: str) -> list:
    """Following "/#leaderboard" while already on the landing page changes only the hash, which the router
    does not scroll for: scroll here too (elsewhere the element is absent and this does nothing)."""
    return [rx.call_script(SCROLL_TO_LEADERBOARD)] if href.endswith(f"#{LEADERBOARD_ID}") else []


def _nav_link(text: str, href: str) -> rx.Component:
    return rx.link(
        text,
        href=href,
        size="2",
        weight="medium",
        color_scheme="gray",
        high_contrast=True,
        underline="none",
        id=f"nav-{text.lower()}",
        on_click=_nav_click(href),
    )


def _nav_menu() -> rx.Component:
    """The phone's menu button: the header's links in a dropdown, each item a 40 px target."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(
                rx.icon("menu", size=22),
                size="3",
                variant="ghost",
                color_scheme="gray",
                id="nav-menu",
                aria_label="Menu",
                title="Menu",
            ),
        ),
        rx.menu.content(
            *(
                rx.menu.item(
                    rx.link(
                        text,
                        href=href,
                        underline="none",
                        color="inherit",
                        width="100%",
                        on_click=_nav_click(href),
                    ),
                    id=f"menu-{text.lower()}",
                    min_height="40px",
                )
                for text, href in NAV_LINKS
            ),
            align="end",
            min_width="200px",
        ),
    )


def header() -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.link(
                rx.hstack(
                    rx.icon("activity", size=22, color="var(--accent-9)"),
                    # On a phone a signed-in header needs the room for the bell and the account menu.
                    rx.heading(
                        "Maxxit",
                        size="5",
                        weight="bold",
                        display=on_phones(rx.cond(AuthState.signed_in, "none", "block"), "block"),
                    ),
                    align="center",
                    spacing="2",
                    min_height="40px",
                    min_width="40px",
                ),
                href="/",
                underline="none",
                color_scheme="gray",
                high_contrast=True,
                id="nav-home",
                aria_label="Maxxit home",
            ),
            rx.hstack(
                rx.hstack(
                    *(_nav_link(text, href) for text, href in NAV_LINKS),
                    spacing="5",
                    align="center",
                    display=on_phones("none", "flex"),
                ),
                rx.cond(AuthState.signed_in, bell()),
                wallet_control(),
                rx.box(_nav_menu(), display=on_phones("block", "none")),
                spacing=on_phones("2", "5"),
                align="center",
                min_width="0",
            ),
            justify="between",
            align="center",
            max_width=CONTENT_WIDTH,
            margin_x="auto",
            padding_x=on_phones("12px", "24px"),
            height=HEADER_HEIGHT,
        ),
        border_bottom="1px solid var(--gray-a5)",
        background="var(--color-panel-solid)",
        position="sticky",
        top="0",
        z_index="10",
        width="100%",
        class_name="site-header",
        style={"@media print": {"display": "none"}},  # a printed invoice is the page alone
    )


def demo_banner(settings: Settings | None = None) -> rx.Component:
    """A slim line above every page while made-up data is on, so no figure is taken for a real one.

    Decided from the settings the app was started with (pages are compiled then); nothing in live mode.
    """
    if not (settings or get_settings()).demo_active:
        return rx.fragment()
    return rx.box(
        rx.text(DEMO_BANNER_TEXT, size="1", weight="medium", text_align="center"),
        id="demo-banner",
        role="status",
        style={"@media print": {"display": "none"}},
        background="var(--amber-3)",
        color="var(--amber-11)",
        border_bottom="1px solid var(--amber-a6)",
        padding_x="12px",
        padding_y="4px",
        width="100%",
    )


def page(*children: rx.Component) -> rx.Component:
    """Every page: the demo banner when it applies, header, then a centred column of content."""
    return rx.box(
        demo_banner(),
        header(),
        rx.vstack(
            *children,
            spacing="6",
            max_width=CONTENT_WIDTH,
            margin_x="auto",
            padding_x=on_phones("16px", "24px"),
            padding_y=on_phones("20px", "32px"),
            width="100%",
            align="stretch",
            # A flex column's children may not shrink below their content's width by default: one wide
            # table or line of figures would widen the whole page on a phone.
            style={"& > *": {"minWidth": "0", "maxWidth": "100%"}},
        ),
        min_height="100vh",
        background="var(--gray-1)",
    )


def card(*children: rx.Component, **props) -> rx.Component:
    return rx.card(*children, size="2", width="100%", **props)


def page_heading(
    title: str, subtitle: str, *, action: rx.Component | None = None, element_id: str | None = None
) -> rx.Component:
    """A page's title and one line on what it is for, with its main action on the right when it has one."""
    heading = rx.vstack(
        rx.heading(title, size="7", weight="bold", id=element_id),
        rx.text(subtitle, color_scheme="gray"),
        spacing="1",
    )
    if action is None:
        return heading
    # On a phone the action wraps under the title instead of pushing the page wider.
    return rx.flex(heading, action, justify="between", align="end", width="100%", wrap="wrap", gap="3")


def link_button(
    icon: str,
    text: str,
    href: rx.Var[str] | str,
    *,
    element_id: rx.Var[str] | str,
    icon_size: int = 16,
    **button,
) -> rx.Component:
    """A button that goes to another page: a link around it, so it also opens in a new tab."""
    return rx.link(rx.button(rx.icon(icon, size=icon_size), text, **button), href=href, id=element_id)


def section_title(text: str) -> rx.Component:
    return rx.heading(text, size="4", weight="medium", margin_bottom="12px")


def error_callout(message: rx.Var[str], *, element_id: str = "page-error") -> rx.Component:
    """Shown whenever the state holds an error message, so failures are never silent."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", id=element_id),
    )


def empty_message(text: str, *, element_id: str) -> rx.Component:
    return rx.center(rx.text(text, color_scheme="gray", size="2"), padding_y="32px", id=element_id)


def loading_message(text: str = "Loading…") -> rx.Component:
    return rx.center(
        rx.hstack(rx.spinner(size="2"), rx.text(text, color_scheme="gray", size="2"), align="center"),
        padding_y="32px",
    )
