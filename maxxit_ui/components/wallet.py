"""The header's wallet control: "Connect wallet" for visitors, the address and its menu once signed in."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.state.auth import NO_WALLET, AuthState

WALLET_SCRIPT = "/wallet.js"
# A phone's header has no room for NO_WALLET: the button's title, and the toast a tap shows, say it in full.
NO_WALLET_SHORT = "No wallet"
# 40 px buttons below 768 px (a thumb's target), the header's usual size above. A Radix prop: its own
# breakpoint names, where "sm" is 768 px (style props use Reflex's, where that is "md").
BUTTON_SIZE = rx.breakpoints(initial="3", sm="2")


def _responsive(phone: rx.Component, wider: rx.Component) -> rx.Component:
    return rx.fragment(
        rx.box(phone, as_="span", display=rx.breakpoints(initial="inline", md="none")),
        rx.box(wider, as_="span", display=rx.breakpoints(initial="none", md="inline")),
    )


def _menu_link(text: str, href: str, icon: str, element_id: str) -> rx.Component:
    return rx.menu.item(
        rx.link(
            rx.hstack(rx.icon(icon, size=14), rx.text(text), align="center", spacing="2"),
            href=href,
            underline="none",
            color="inherit",
            width="100%",
        ),
        id=element_id,
        min_height="40px",
    )


def account_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.box(width="8px", height="8px", border_radius="50%", background="var(--green-9)"),
                rx.text(AuthState.short_address, id="account-address", font_family="monospace"),
                rx.cond(
                    AuthState.is_admin,
                    rx.badge(
                        "admin",
                        color_scheme="amber",
                        size="1",
                        display=rx.breakpoints(initial="none", sm="inline"),
                    ),
                ),
                rx.icon("chevron_down", size=14),
                variant="soft",
                color_scheme="gray",
                size=BUTTON_SIZE,
                id="account-menu",
                title=AuthState.address,
            ),
        ),
        rx.menu.content(
            _menu_link("Dashboard", "/dashboard", "chart_line", "menu-dashboard"),
            _menu_link("My deployments", "/deployments", "rocket", "menu-my-deployments"),
            _menu_link("My agents", "/my-agents", "bot", "menu-my-agents"),
            _menu_link("Billing", "/billing", "receipt", "menu-billing"),
            _menu_link("Build agent", "/agents/new", "circle_plus", "menu-build-agent"),
            _menu_link("Earnings", "/earnings", "hand_coins", "menu-earnings"),
            _menu_link("Notifications", "/notifications", "bell", "menu-notifications"),
            _menu_link(
                "Notification settings", "/settings/notifications", "settings", "menu-notification-settings"
            ),
            rx.cond(
                AuthState.is_admin,
                rx.fragment(
                    rx.menu.separator(),
                    _menu_link("Admin: users", "/admin/users", "users", "menu-admin-users"),
                    _menu_link("Admin: audit log", "/admin/audit", "scroll_text", "menu-admin-audit"),
                    _menu_link(
                        "Admin: CT accounts", "/admin/ct-accounts", "at_sign", "menu-admin-ct-accounts"
                    ),
                    _menu_link("Admin: posts", "/admin/posts", "message_square_text", "menu-admin-posts"),
                    _menu_link("Admin: monitor", "/admin/monitor", "activity", "menu-admin-monitor"),
                    _menu_link("Admin: venues", "/admin/venues", "store", "menu-admin-venues"),
                    _menu_link("Admin: billing", "/admin/billing", "receipt", "menu-admin-billing"),
                ),
            ),
            rx.menu.separator(),
            rx.menu.item(
                rx.hstack(rx.icon("log_out", size=14), rx.text("Sign out"), align="center", spacing="2"),
                on_select=AuthState.sign_out,
                color="red",
                id="menu-sign-out",
                min_height="40px",
            ),
            align="end",
            # A signed-in admin's menu is taller than a phone: it scrolls inside instead of off screen.
            max_height="calc(100dvh - 80px)",
            overflow_y="auto",
        ),
    )


def connect_button(element_id: str = "connect-wallet", **props) -> rx.Component:
    """Starts the sign-in; says so plainly when the browser has no wallet."""
    busy = AuthState.busy != ""
    return rx.button(
        rx.cond(busy, rx.spinner(size="1"), rx.icon("wallet", size=16)),
        rx.cond(
            (AuthState.wallet == "missing") & ~busy,
            _responsive(rx.text(NO_WALLET_SHORT, as_="span"), rx.text(NO_WALLET, as_="span")),
            AuthState.button_label,
        ),
        on_click=AuthState.connect,
        on_mount=AuthState.detect_wallet,
        disabled=busy,
        variant=rx.cond(AuthState.wallet == "missing", "outline", "solid"),
        color_scheme=rx.cond(AuthState.wallet == "missing", "gray", "jade"),
        id=element_id,
        title=rx.cond(AuthState.wallet == "missing", NO_WALLET, ""),
        **{"size": BUTTON_SIZE, **props},
    )


def wallet_control() -> rx.Component:
    return rx.cond(AuthState.signed_in, account_menu(), connect_button())
