"""The Backtest panel: period, starting capital, then the result (equity with drawdown, figures, breakdowns,
trades with their posts, skips, the notice). One component for every page whose state mixes in
BacktestMixin; the rows arrive formatted, so this only lays them out. Key figures come first and tables
scroll inside their own box, so the panel reads on a 390 px phone.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from maxxit_ui.components.forms import field_error
from maxxit_ui.components.layout import card, empty_message, error_callout, section_title
from maxxit_ui.components.tables import data_table, figure, figure_cell, stat_tile, text_cell
from maxxit_ui.state.backtest_rows import PERIOD_OPTIONS

SCROLL_BOX = {"width": "100%", "overflow_x": "auto", "min_width": "0"}


def _label(text: str, html_for: str) -> rx.Component:
    return rx.text(text, as_="label", size="2", weight="medium", html_for=html_for)


def _period(s: Any) -> rx.Component:
    return rx.vstack(
        _label("Period", "bt-period"),
        rx.segmented_control.root(
            *(rx.segmented_control.item(text, value=key) for key, text in PERIOD_OPTIONS.items()),
            value=s.bt_period,
            on_change=lambda v: s.bt_set("bt_period", v),
            id="bt-period",
            size="1",
        ),
        rx.cond(
            s.bt_period == "dates",
            rx.hstack(
                rx.input(
                    type="date",
                    value=s.bt_start,
                    on_change=lambda v: s.bt_set("bt_start", v),
                    id="bt-start",
                    aria_label="From",
                    size="1",
                ),
                rx.text("to", size="1", color_scheme="gray"),
                rx.input(
                    type="date",
                    value=s.bt_end,
                    on_change=lambda v: s.bt_set("bt_end", v),
                    id="bt-end",
                    aria_label="To",
                    size="1",
                ),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
        ),
        field_error(s.bt_errors["period"], "bt_period"),
        spacing="1",
        min_width="0",
    )


def _capital(s: Any) -> rx.Component:
    return rx.vstack(
        _label("Starting capital", "bt-capital"),
        rx.input(
            rx.input.slot(rx.text("$", size="2", color_scheme="gray")),
            value=s.bt_capital,
            on_change=lambda v: s.bt_set("bt_capital", v),
            input_mode="decimal",
            id="bt-capital",
            size="1",
            width="140px",
        ),
        field_error(s.bt_errors["capital"], "bt_capital"),
        spacing="1",
        min_width="0",
    )


def _compare_switch(s: Any, on_change: Any = None) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.switch(
                checked=s.bt_compare, on_change=on_change or s.bt_toggle_compare, id="bt-compare", size="1"
            ),
            rx.text("Compare", size="2", weight="medium"),
            align="center",
            spacing="2",
        ),
        title="Keep the saved configuration (or the result shown now) as A and compare the edited one, B",
        cursor="pointer",
    )


def _rival_select(s: Any) -> rx.Component:
    """The agent page's Compare: which other agent's backtest to draw beside this one's."""
    return rx.cond(
        s.bt_compare,
        rx.vstack(
            _label("Compare with", "bt-rival"),
            rx.select.root(
                rx.select.trigger(placeholder="Pick an agent", id="bt-rival", min_width="180px"),
                rx.select.content(
                    rx.foreach(s.bt_rivals, lambda r: rx.select.item(r["name"], value=r["id"])),
                ),
                value=s.bt_rival,
                on_change=s.bt_pick_rival,
                size="2",
            ),
            spacing="1",
        ),
    )


def _controls(s: Any, compare: bool, rivals: bool = False) -> rx.Component:
    return rx.hstack(
        _period(s),
        _capital(s),
        _compare_switch(s, s.bt_toggle_rivals if rivals else None) if compare or rivals else rx.fragment(),
        _rival_select(s) if rivals else rx.fragment(),
        spacing="4",
        align="start",
        wrap="wrap",
        width="100%",
    )


def _tile(tile: Any) -> rx.Component:
    return stat_tile(
        tile["label"],
        tile["value"],
        element_id=tile["id"],
        tone=tile["tone"],
        value_size="4",
        size="1",
        width=None,
        min_width="0",
    )


def _tiles(s: Any) -> rx.Component:
    return rx.grid(
        rx.foreach(s.bt_tiles, _tile),
        # Sized by the panel's own width (half the builder, or a phone), not the window's.
        grid_template_columns="repeat(auto-fit, minmax(128px, 1fr))",
        spacing="2",
        width="100%",
        id="bt-tiles",
    )


def _chart(s: Any) -> rx.Component:
    return rx.box(
        rx.plotly(data=s.bt_figure, config={"displayModeBar": False, "responsive": True}, width="100%"),
        id="bt-chart",
        width="100%",
        min_height="340px",
    )


def _summary_row(row: Any) -> rx.Component:
    return rx.table.row(
        text_cell(row["label"], color_scheme="gray"),
        rx.table.cell(figure(row["value"], row["tone"], size="2", id=row["id"]), justify="end"),
    )


def _summary(s: Any) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.body(rx.foreach(s.bt_summary, _summary_row)),
            size="1",
            variant="ghost",
            width="100%",
            id="bt-summary",
        ),
        **SCROLL_BOX,
    )


def _better(text: Any, marked: Any) -> rx.Component:
    """A compared figure; the better side bold with a green check (the figure keeps its own colour: a smaller
    loss is better, yet still a loss)."""
    return rx.table.cell(
        rx.cond(
            marked,
            rx.hstack(
                rx.icon("circle_check", size=14, color="var(--green-11)"),
                figure(text, size="2", weight="bold"),
                spacing="1",
                align="center",
                justify="end",
                class_name="bt-better",
            ),
            figure(text, size="2"),
        ),
        justify="end",
    )


def _compare_row(row: Any) -> rx.Component:
    return rx.table.row(
        text_cell(row["label"], color_scheme="gray"),
        _better(row["a"], row["better"] == "a"),
        _better(row["b"], row["better"] == "b"),
        id=row["id"],
    )


def _compare_table(s: Any) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Figure"),
                    rx.table.column_header_cell(s.bt_label_a, justify="end", white_space="nowrap"),
                    rx.table.column_header_cell(s.bt_label_b, justify="end", white_space="nowrap"),
                )
            ),
            rx.table.body(rx.foreach(s.bt_compare_rows, _compare_row)),
            size="1",
            variant="ghost",
            width="100%",
            id="bt-compare-table",
        ),
        **SCROLL_BOX,
    )


def _group_row(row: Any) -> rx.Component:
    return rx.table.row(
        text_cell(row["key"], weight="medium", white_space="nowrap"),
        figure_cell(row["profit"], row["profit_tone"]),
        figure_cell(row["trades"]),
        figure_cell(row["win_rate"]),
        figure_cell(row["wins"]),
        figure_cell(row["mean"], row["mean_tone"]),
    )


def _groups(title: str, rows: Any, element_id: str) -> rx.Component:
    columns = (title, "Profit", "Trades", "Win rate", "Wins / losses", "Avg profit")
    return rx.box(
        rx.cond(
            rows.length() > 0,
            data_table(
                columns, rows, _group_row, element_id=element_id, align_right=columns[1:], variant="ghost"
            ),
            empty_message("No closed trades.", element_id=f"{element_id}-empty"),
        ),
        **SCROLL_BOX,
    )


def _trade_row(s: Any, row: Any) -> rx.Component:
    """What happened first (market, side, PnL, why it closed, who posted the signal and the post), then the
    when and how much."""
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(row["market"], weight="medium", size="2"),
                figure(row["side"], row["side_tone"], size="1", weight="medium"),
                spacing="2",
                align="center",
            )
        ),
        rx.table.cell(
            rx.vstack(
                figure(row["pnl"], row["pnl_tone"], size="2", weight="medium"),
                figure(row["pnl_pct"], row["pnl_tone"], size="1"),
                spacing="0",
                align="end",
            ),
            justify="end",
        ),
        text_cell(row["exit_reason"], white_space="nowrap"),
        text_cell(row["author"], white_space="nowrap", class_name="bt-trade-author"),
        rx.table.cell(
            rx.cond(
                row["has_post"],
                rx.button(
                    rx.icon("message_square_text", size=14),
                    "Post",
                    on_click=s.bt_show_post(row["id"]),
                    size="1",
                    variant="soft",
                    class_name="bt-post-button",
                    id="bt-post-" + row["id"],
                ),
                rx.text("—", size="2", color_scheme="gray"),
            )
        ),
        text_cell(row["entry_at"], color_scheme="gray", white_space="nowrap"),
        figure_cell(row["entry_price"]),
        text_cell(row["exit_at"], color_scheme="gray", white_space="nowrap"),
        figure_cell(row["exit_price"]),
        figure_cell(row["size"]),
        figure_cell(row["leverage"]),
        class_name="bt-trade-row",
    )


TRADE_COLUMNS = (
    "Market",
    "PnL",
    "Exit reason",
    "Author",
    "Post",
    "Entry",
    "Entry price",
    "Exit",
    "Exit price",
    "Size",
    "Lev.",
)


def _trades(s: Any) -> rx.Component:
    return rx.box(
        rx.cond(
            s.bt_trades.length() > 0,
            data_table(
                TRADE_COLUMNS,
                s.bt_trades,
                lambda row: _trade_row(s, row),
                element_id="bt-trades",
                align_right=("PnL", "Size", "Lev.", "Entry price", "Exit price"),
                variant="ghost",
            ),
            empty_message("No trades in this period.", element_id="bt-trades-empty"),
        ),
        max_height="480px",
        overflow_y="auto",
        **SCROLL_BOX,
    )


def _post_dialog(s: Any) -> rx.Component:
    """The post that made a trade's signal, and who wrote it."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.text(s.bt_post_author, id="bt-post-author")),
            rx.dialog.description(s.bt_post_trade, size="2", color_scheme="gray"),
            rx.text(s.bt_post_text, size="3", white_space="pre-wrap", id="bt-post-text", margin_y="12px"),
            rx.text(s.bt_post_time, size="1", color_scheme="gray"),
            rx.flex(
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", id="bt-post-close")),
                justify="end",
                margin_top="12px",
            ),
            max_width="520px",
            id="bt-post-dialog",
        ),
        open=s.bt_post_open,
        on_open_change=s.bt_post_open_change,
    )


def _skip_row(row: Any) -> rx.Component:
    return rx.hstack(
        rx.text(row["reason"], size="2"),
        figure(row["count"], size="2", weight="medium"),
        justify="between",
        width="100%",
    )


def _result(s: Any) -> rx.Component:
    subtitle = rx.hstack(
        rx.text(s.bt_window, size="1", color_scheme="gray", id="bt-window"),
        rx.cond(s.bt_cached, rx.badge("cached", size="1", variant="soft", color_scheme="gray")),
        spacing="2",
        wrap="wrap",
    )
    return rx.vstack(
        subtitle,
        _tiles(s),
        _chart(s),
        rx.cond(s.bt_compare_rows.length() > 0, _compare_table(s)),
        rx.grid(
            rx.box(section_title("Summary"), _summary(s), min_width="0"),
            rx.vstack(
                # As wide as the column and no wider: a box sized by its table would push the table's
                # right-hand columns out of the card on a phone, where nothing scrolls to them.
                rx.box(
                    section_title("By exit reason"),
                    _groups("Exit reason", s.bt_by_reason, "bt-by-reason"),
                    width="100%",
                    min_width="0",
                ),
                rx.box(
                    section_title("By token"),
                    _groups("Token", s.bt_by_token, "bt-by-token"),
                    width="100%",
                    min_width="0",
                ),
                spacing="4",
                min_width="0",
                width="100%",
            ),
            grid_template_columns="repeat(auto-fit, minmax(min(100%, 340px), 1fr))",
            spacing="4",
            width="100%",
        ),
        rx.box(section_title("Trades"), _trades(s), width="100%", min_width="0"),
        rx.cond(
            s.bt_skips.length() > 0,
            rx.box(
                section_title("Signals not traded"),
                rx.vstack(rx.foreach(s.bt_skips, _skip_row), spacing="1", width="100%", max_width="420px"),
                id="bt-skips",
                width="100%",
            ),
        ),
        rx.callout(s.bt_notice, icon="info", color_scheme="gray", size="1", id="bt-notice"),
        _post_dialog(s),
        spacing="4",
        width="100%",
        min_width="0",
    )


def backtest_panel(
    s: Any, *, compare: bool = False, rivals: bool = False, sweep_href: Any = None
) -> rx.Component:
    """The panel for state `s` (a BacktestMixin page state); `compare` adds the A/B toggle, `rivals` a toggle
    that compares with another agent picked from a list (the state offers `bt_rivals` and `bt_pick_rival`)."""
    header = rx.hstack(
        rx.hstack(
            section_title("Backtest"),
            rx.cond(s.bt_running, rx.spinner(size="2", id="bt-running")),
            align="center",
            spacing="2",
        ),
        rx.link("Sweep…", href=sweep_href, size="2", id="bt-sweep-link")
        if sweep_href is not None
        else rx.fragment(),
        justify="between",
        align="baseline",
        width="100%",
    )
    return card(
        rx.vstack(
            header,
            _controls(s, compare, rivals),
            error_callout(s.bt_errors["form"], element_id="bt-error"),
            rx.match(
                s.bt_status,
                ("ready", _result(s)),
                rx.cond(
                    s.bt_running,
                    rx.center(
                        rx.text("Running the backtest…", size="2", color_scheme="gray"), padding_y="24px"
                    ),
                ),
            ),
            spacing="3",
            width="100%",
            min_width="0",
        ),
        id="bt-panel",
        min_width="0",
    )
