"""Orders straight at a venue adapter, as a test places them (outside the executor): submit -> status."""

from __future__ import annotations

from dataclasses import replace

from backend.venues.base import Fill, OrderRequest, OrderState, VenueAccount, VenueAdapter


def place(venue: VenueAdapter, account: VenueAccount, order: OrderRequest) -> Fill:
    """An entry order, filled at once (both test venues settle immediately)."""
    fill = venue.submit(account, replace(order, reduce_only=False)).fill
    assert fill is not None
    return fill


def reduce(venue: VenueAdapter, account: VenueAccount, order: OrderRequest) -> Fill:
    """A reduce-only close of the `order.side` position, filled at once."""
    fill = venue.submit(account, replace(order, reduce_only=True)).fill
    assert fill is not None
    return fill


def fill_of(venue: VenueAdapter, account: VenueAccount, client_order_id: str) -> Fill | None:
    """The fill `status` reports for that client order id, None when it reports none."""
    status = venue.status(account, client_order_id)
    return status.fill if status.state == OrderState.FILLED else None
