"""Signal history `/agents/[agent_id]/signals`: what the agent traded, on whose call, and why it scored."""

from __future__ import annotations

import reflex as rx

from maxxit_ui.components.layout import (
    card,
    empty_message,
    error_callout,
    loading_message,
    page,
    section_title,
)
from maxxit_ui.components.outcome import outcome_badge
from maxxit_ui.components.tables import data_table, figure, text_cell
from maxxit_ui.pages.admin_common import pager
from maxxit_ui.pages.agent import agent_not_found
from maxxit_ui.state.agent_signals import AgentSignalsState as S
from maxxit_ui.state.agent_signals import FeatureRow, SignalHistoryRow

ROUTE = "/agents/[agent_id]/signals"
# The outcome beside the call, first on a phone; the post last (it is the widest).
COLUMNS = ("Token", "Side", "Outcome", "Score vs threshold", "Time", "Post")


def _header() -> rx.Component:
    return rx.vstack(
        rx.link("← Agent", href=S.agent_link, size="2", color_scheme="gray", id="back-to-agent"),
        rx.heading("Signals: ", S.agent_name, size="7", weight="bold", id="signals-heading"),
        rx.text(
            "Each signal is a call from a followed account, scored against this agent's threshold of ",
            rx.text(S.threshold, as_="span", weight="bold", id="signals-threshold"),
            ". Click a signal to see what drove its score. ",
            S.count_label,
            ".",
            size="2",
            color_scheme="gray",
        ),
        spacing="2",
    )


def _filter() -> rx.Component:
    return rx.hstack(
        rx.input(
            placeholder="Token, e.g. ETH",
            value=S.token,
            on_change=S.set_token,  # debounced by Reflex: one query per pause in typing
            max_length=16,
            id="token-filter",
            width="220px",
        ),
        rx.button("Clear", on_click=S.clear_token, variant="soft", color_scheme="gray", id="token-clear"),
        spacing="2",
        align="center",
    )


def _row(row: SignalHistoryRow) -> rx.Component:
    """The signal, and right under it (when it is the one clicked) why it scored: the explanation opens
    where the user is looking, not below the table."""
    selected = S.selected_id == row["id"]
    return rx.fragment(
        rx.table.row(
            rx.table.cell(rx.text(row["token"], weight="medium", size="2")),
            rx.table.cell(rx.badge(row["side"], color_scheme=row["side_color"], variant="soft", size="1")),
            rx.table.cell(outcome_badge(row["outcome"], row["outcome_kind"]), min_width="150px"),
            rx.table.cell(figure(row["score"], row["score_tone"], size="2"), white_space="nowrap"),
            text_cell(row["time"], color_scheme="gray", white_space="nowrap"),
            rx.table.cell(
                rx.vstack(
                    rx.text(row["handle"], size="1", color_scheme="gray"),
                    rx.text(row["post"], size="2", max_width="420px", truncate=True, title=row["post_full"]),
                    spacing="0",
                )
            ),
            on_click=S.select(row["id"]),
            cursor="pointer",
            background=rx.cond(selected, "var(--accent-a3)", "transparent"),
            class_name="signal-row",
            id="signal-row-" + row["id"],
            custom_attrs={"aria-expanded": rx.cond(selected, "true", "false")},
        ),
        rx.cond(
            selected,
            rx.table.row(
                rx.table.cell(_explanation(), col_span=len(COLUMNS), padding="0"),
                id="signal-explanation-row",
            ),
        ),
    )


def _feature_row(row: FeatureRow) -> rx.Component:
    return rx.table.row(
        text_cell(row["label"]),
        rx.table.cell(figure(row["value"], size="2"), justify="end"),
        rx.table.cell(figure(row["weight"], size="2"), justify="end"),
        rx.table.cell(figure(row["contribution"], size="2", weight="medium"), justify="end"),
    )


def _explanation() -> rx.Component:
    return rx.box(
        rx.hstack(
            section_title("Why this signal"),
            rx.icon_button(
                rx.icon("x", size=16),
                on_click=S.select(S.selected_id),
                variant="ghost",
                color_scheme="gray",
                size="3",
                aria_label="Close",
                id="explanation-close",
            ),
            justify="between",
            width="100%",
        ),
        rx.vstack(
            rx.heading(S.selected_title, size="4", id="explanation-title"),
            rx.text(S.selected_meta, size="2", color_scheme="gray"),
            rx.blockquote(S.selected_post, size="2", id="explanation-post"),
            outcome_badge(S.selected_outcome, S.selected_kind, size="2"),
            rx.cond(  # the viewer's own deployments only, with the full reason none else may read
                S.selected_mine.length() > 0,
                rx.vstack(
                    rx.text("Your deployments", size="2", weight="medium"),
                    rx.foreach(S.selected_mine, lambda line: rx.text(line, size="2", color_scheme="gray")),
                    spacing="1",
                    id="explanation-mine",
                ),
            ),
            rx.text(S.selected_score, size="2", id="explanation-score"),
            spacing="3",
            width="100%",
        ),
        rx.grid(
            rx.box(
                rx.plotly(data=S.features_figure, config={"displayModeBar": False}, width="100%"),
                id="feature-chart",
                width="100%",
                min_height="320px",
            ),
            data_table(
                ("Feature", "Value", "Weight", "Contribution"),
                S.features,
                _feature_row,
                element_id="feature-table",
                align_right=("Value", "Weight", "Contribution"),
                variant="ghost",
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="4",
            width="100%",
            margin_top="16px",
        ),
        id="signal-explanation",
        padding="16px",
        background="var(--gray-a2)",
        # Sticks to the left of the scrolling table, as wide as the screen allows: on a phone the
        # explanation stays readable while the table beside it scrolls.
        position="sticky",
        left="0",
        max_width="calc(100vw - 64px)",
        overflow_x="auto",
        cursor="default",
    )


def _content() -> rx.Component:
    return rx.vstack(
        _filter(),
        card(
            rx.cond(
                S.rows.length() > 0,
                rx.box(  # on a phone the table scrolls inside its card, never the page
                    data_table(COLUMNS, S.rows, _row, element_id="signals-history", variant="ghost"),
                    overflow_x="auto",
                    width="100%",
                    id="signals-scroll",
                ),
                empty_message(S.empty_text, element_id="signals-empty"),
            ),
            pager(S.page_label, S.prev_page, S.next_page, ~S.has_prev, ~S.has_next, "signals"),
        ),
        spacing="4",
        width="100%",
    )


def agent_signals() -> rx.Component:
    return page(
        rx.match(
            S.status,
            ("ready", rx.fragment(_header(), _content())),
            ("not_found", agent_not_found()),
            ("error", error_callout(S.error)),
            loading_message("Loading signals…"),
        ),
    )
