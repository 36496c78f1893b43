"""Admin: posts `/admin/posts?account=<id>`: CT posts newest first with their classification; paste a post."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.forms import field_error
from maxxit_ui.components.layout import card, empty_message, section_title
from maxxit_ui.components.tables import data_table, figure_cell, text_cell
from maxxit_ui.pages.admin_common import admin_page, admin_table, pager
from maxxit_ui.state.posts import ALL_ACCOUNTS, POLL_MS, TEXT_MAX, AccountOption, PostRow, PostsState

ROUTE = "/admin/posts"
COLUMNS = (
    "Posted",
    "Account",
    "Post",
    "Classification",
    "Token",
    "Side",
    "Confidence",
    "Classifier",
    "Reasoning",
    "Signals",
)
NUMBERS = ("Confidence", "Signals")

S = PostsState


def _option(option: AccountOption) -> rx.Component:
    return rx.select.item(option["label"], value=option["id"])


def _paste_form() -> rx.Component:
    return card(
        section_title("Paste a post"),
        rx.vstack(
            rx.vstack(
                rx.text("Account", as_="label", size="2", weight="medium"),
                rx.select.root(
                    rx.select.trigger(placeholder="Choose an account", id="paste-account", min_width="240px"),
                    rx.select.content(rx.foreach(S.accounts, _option)),
                    value=S.paste_account,
                    on_change=S.set_paste_account,
                ),
                field_error(S.paste_account_error, "paste_account"),
                spacing="1",
            ),
            rx.vstack(
                rx.text("Post", as_="label", size="2", weight="medium", html_for="paste-text"),
                rx.text_area(
                    value=S.paste_text,
                    on_change=S.set_paste_text,
                    placeholder="e.g. $SOL breakout, longing here",
                    id="paste-text",
                    rows="3",
                    width="100%",
                    max_length=TEXT_MAX,
                ),
                field_error(S.paste_text_error, "paste_text"),
                spacing="1",
                width="100%",
            ),
            rx.button(
                rx.icon("clipboard_paste", size=16),
                "Store post",
                on_click=S.paste,
                loading=S.pasting,
                id="paste-submit",
            ),
            spacing="3",
            width="100%",
        ),
    )


def _filters() -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.text("Account", size="2", color_scheme="gray"),
            rx.select.root(
                rx.select.trigger(id="posts-account", aria_label="Account", min_width="200px"),
                rx.select.content(
                    rx.select.item("All accounts", value=ALL_ACCOUNTS), rx.foreach(S.accounts, _option)
                ),
                value=S.account,
                on_change=S.set_account,
            ),
            align="center",
            spacing="2",
        ),
        rx.hstack(
            rx.switch(checked=S.signal_only, on_change=S.set_signal_only, id="posts-signal-only"),
            rx.text("Signals only", as_="label", size="2", html_for="posts-signal-only"),
            align="center",
            spacing="2",
        ),
        rx.spacer(),
        rx.text(
            rx.cond(S.has_pending, "Classifying… · ", ""),
            "Updated ",
            S.refreshed_at,
            size="1",
            color_scheme="gray",
            id="posts-refreshed",
        ),
        rx.button(
            rx.icon("refresh_cw", size=14),
            "Refresh",
            on_click=S.refresh,
            loading=S.refreshing,
            variant="soft",
            color_scheme="gray",
            id="posts-refresh",
        ),
        # The page's timer: while it is open, a quiet re-read every few seconds.
        rx.box(rx.moment(interval=POLL_MS, format="HH:mm:ss", on_change=S.poll), display="none"),
        gap="12px",
        wrap="wrap",
        align="center",
        width="100%",
    )


def _row(row: PostRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["posted"], color_scheme="gray", white_space="nowrap"),
        rx.table.cell(rx.link(row["handle"], href=row["account_href"], size="2", weight="medium")),
        rx.table.cell(
            rx.text(row["text"], size="2", max_width="360px", truncate=True, title=row["text"]),
            rx.text(row["source"], size="1", color_scheme="gray"),
        ),
        rx.table.cell(
            rx.badge(
                row["status_label"],
                color_scheme=row["status_color"],
                variant="soft",
                class_name="post-status",
            )
        ),
        text_cell(row["token"], weight="medium", class_name="post-token"),
        rx.table.cell(
            rx.cond(
                row["side"] == "—",
                rx.text("—", size="2", color_scheme="gray"),
                rx.badge(
                    row["side"], color_scheme=row["side_color"], variant="outline", class_name="post-side"
                ),
            )
        ),
        figure_cell(row["confidence"]),
        rx.table.cell(rx.code(row["classifier"], size="1", variant="soft", color_scheme="gray")),
        rx.table.cell(
            rx.text(
                row["reasoning"],
                size="1",
                color_scheme="gray",
                max_width="280px",
                truncate=True,
                title=row["reasoning"],
            )
        ),
        figure_cell(row["signals"]),
        class_name="post-row",
        id="post-" + row["id"],
    )


def _content() -> rx.Component:
    return rx.vstack(
        _paste_form(),
        admin_table(
            _filters(),
            S.error,
            data_table(COLUMNS, S.rows, _row, element_id="posts-table", align_right=NUMBERS, variant="ghost"),
            S.rows.length() > 0,
            empty_message("No posts match these filters yet.", element_id="posts-empty"),
            pager(S.page_label, S.prev_page, S.next_page, S.page <= 1, S.page >= S.page_count, "posts"),
            prefix="posts",
        ),
        rx.link("← CT accounts", href="/admin/ct-accounts", size="2", id="ct-accounts-link"),
        spacing="4",
        width="100%",
    )


def admin_posts() -> rx.Component:
    return admin_page(
        "Admin: posts",
        "Posts of the followed accounts, newest first, with what the classifier read in them.",
        S.status,
        S.error,
        _content(),
        "Loading posts…",
    )
