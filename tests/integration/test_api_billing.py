"""Billing over HTTP, on SQLite and PostgreSQL: a trader's overview, invoices (JSON and CSV), subscriptions
and earnings, the operators' summary and actions; 401 signed out first, 404 for someone else's, 403 for
traders on operator paths, 422 on the field for bad bodies."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from fastapi.routing import APIRoute
from sqlmodel import Session, func, select

from backend.auth.sessions import create_session
from backend.config import Settings
from backend.models import AuditLog, User
from backend.models.common import utcnow
from backend.models.enums import BillingStatus
from tests.billing_support import Ledger, build_ledger, line

Headers = dict[str, str]
D = Decimal
TX = "0x" + "cd" * 32
OWED = ("PENDING", "INVOICED", "PAID", "UNCOLLECTIBLE")


@pytest.fixture
def ledger(session: Session, factory) -> Ledger:
    return build_ledger(session, factory)


@pytest.fixture
def signed_in(session: Session, api_settings: Settings) -> Callable[[User], Headers]:
    def headers(user: User) -> Headers:
        return {"Authorization": f"Bearer {create_session(session, user.id, settings=api_settings).token}"}

    return headers


def _billing_routes(app) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        for r in getattr(getattr(route, "original_router", None), "routes", [route]):
            if isinstance(r, APIRoute) and "/billing" in r.path:
                found += [(m, re.sub(r"\{[^}]+\}", "1", r.path)) for m in sorted(r.methods)]
    return found


def _audits(session: Session, action: str) -> int:
    return session.exec(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).one()


# -- who may ask ---------------------------------------------------------------------------------------------


def test_every_billing_path_is_401_signed_out_before_anything_else(client, app):
    routes = _billing_routes(app)
    assert len(routes) >= 12
    answers = {
        (method, path): client.request(
            method, path, content=b'{"reason": 1', headers={"Content-Type": "application/json"}
        ).status_code
        for method, path in routes
    }
    assert {k: v for k, v in answers.items() if v != 401} == {}


def test_traders_are_403_on_operator_paths(client, ledger, signed_in):
    trader = signed_in(ledger.trader)
    assert client.get("/api/v1/admin/billing", headers=trader).status_code == 403
    assert client.get("/api/v1/admin/billing/payouts", headers=trader).status_code == 403
    reason = {"reason": "goodwill"}
    for path in (
        f"/api/v1/admin/billing/invoices/{ledger.october.id}/void",
        f"/api/v1/admin/billing/invoices/{ledger.october.id}/uncollectible",
        f"/api/v1/admin/billing/lines/{ledger.december_lines[0].id}/waive",
    ):
        assert client.post(path, json=reason, headers=trader).status_code == 403, path
    payout = {"beneficiary": "CREATOR", "user_address": ledger.creator.address, "amount": "1", "tx_hash": TX}
    assert client.post("/api/v1/admin/billing/payouts", json=payout, headers=trader).status_code == 403


def test_someone_elses_invoice_is_404_and_an_operator_reads_it(client, ledger, signed_in):
    stranger, operator = signed_in(ledger.stranger), signed_in(ledger.operator)
    path = f"/api/v1/billing/invoices/{ledger.october.id}"

    for url in (path, f"{path}/csv", "/api/v1/billing/invoices/999999"):
        reply = client.get(url, headers=stranger)
        assert reply.status_code == 404, url
        assert reply.json()["detail"].endswith("not found")
    seen = client.get(path, headers=operator)
    assert seen.status_code == 200
    assert seen.json()["user_address"] == ledger.trader.address


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": "no"}, "reason"),
        ({"reason": "x" * 300}, "reason"),
        ({"reason": "goodwill", "extra": 1}, "extra"),
    ],
)
def test_a_bad_reason_is_422_on_its_field(client, ledger, signed_in, body, field):
    reply = client.post(
        f"/api/v1/admin/billing/invoices/{ledger.october.id}/void",
        json=body,
        headers=signed_in(ledger.operator),
    )
    assert reply.status_code == 422
    assert field in [e["field"] for e in reply.json()["detail"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.0000001"}, "amount"),
        ({"tx_hash": "0x12"}, "tx_hash"),
        ({"user_address": "bob"}, "user_address"),
        ({"beneficiary": "NOBODY"}, "beneficiary"),
        ({"ct_account_id": 0}, "ct_account_id"),
        ({"note": "n" * 300}, "note"),
    ],
)
def test_a_bad_payout_is_422_on_its_field(client, ledger, signed_in, change, field):
    body = {"beneficiary": "CREATOR", "user_address": ledger.creator.address, "amount": "1", "tx_hash": TX}
    reply = client.post(
        "/api/v1/admin/billing/payouts", json={**body, **change}, headers=signed_in(ledger.operator)
    )
    assert reply.status_code == 422
    assert field in [e["field"] for e in reply.json()["detail"]]


@pytest.mark.parametrize(
    "query", ["status=LATE", "limit=0", "limit=100000", "offset=-1", "colour=red"], ids=lambda q: q
)
def test_bad_invoice_filters_are_422(client, ledger, signed_in, query):
    reply = client.get(f"/api/v1/billing/invoices?{query}", headers=signed_in(ledger.trader))
    assert reply.status_code == 422


# -- what a trader reads -------------------------------------------------------------------------------------


def test_the_overview_totals_are_the_sums_of_its_lines(client, ledger, signed_in, session):
    # The API reads the clock: lines of the running month, whichever it is, a fee and a builder fee.
    now = utcnow()
    fee = line(session, ledger.trader, "0.20", at=now, deployment=ledger.deployment)
    builder = line(session, ledger.trader, "0.0125", at=now, status=BillingStatus.COLLECTED)

    reply = client.get("/api/v1/billing", headers=signed_in(ledger.trader))

    assert reply.status_code == 200
    view = reply.json()
    owed = [x for x in view["current_lines"] if x["status"] in OWED]
    assert {fee.id, builder.id} <= {x["id"] for x in view["current_lines"]}
    assert D(view["current_total_usd"]) == sum((D(x["amount"]) for x in owed), D(0)) >= D("0.20")
    collected = [D(x["amount"]) for x in view["current_lines"] if x["collected_at_source"]]
    assert D(view["collected_at_source_usd"]) == sum(collected, D(0)) >= D("0.0125")
    open_totals = [D(i["total_usd"]) for i in view["invoices"] if i["status"] == "OPEN"]
    assert D(view["outstanding_usd"]) == sum(open_totals, D(0)) == D("20.20")
    assert [i["month"] for i in view["invoices"]] == ["2026-12", "2026-11", "2026-10", "2026-09"]
    assert view["current_month"] == now.strftime("%Y-%m")
    assert view["paper_is_free"] is True
    assert [s["id"] for s in view["subscriptions"]] == [ledger.subscription.id]


def test_each_invoice_total_is_the_sum_of_its_lines(client, ledger, signed_in):
    trader = signed_in(ledger.trader)
    invoices = client.get("/api/v1/billing/invoices", headers=trader).json()

    assert len(invoices) == 4
    for summary in invoices:
        detail = client.get(f"/api/v1/billing/invoices/{summary['id']}", headers=trader).json()
        owed = [D(x["amount"]) for x in detail["lines"] if x["status"] in OWED]
        assert D(detail["total_usd"]) == D(summary["total_usd"]) == sum(owed, D(0)), summary["month"]
    open_ones = client.get("/api/v1/billing/invoices?status=OPEN", headers=trader).json()
    assert [(i["id"], i["overdue"]) for i in open_ones] == [(ledger.october.id, True)]


def test_an_invoice_downloads_as_csv_named_by_its_number(client, ledger, signed_in):
    reply = client.get(f"/api/v1/billing/invoices/{ledger.november.id}/csv", headers=signed_in(ledger.trader))

    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.headers["content-disposition"] == f'attachment; filename="{ledger.november.number}.csv"'
    head, _, body = reply.text.partition("\n\n")
    header = dict(csv.reader(io.StringIO(head)))
    assert (header["invoice"], header["status"], D(header["total_usd"])) == (
        ledger.november.number,
        "PAID",
        D("23.2"),
    )
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["kind"], r["beneficiary"], D(r["amount_usd"])) for r in rows] == [
        ("TRADE_FEE", "PLATFORM", D("0.2")),
        ("PROFIT_SHARE", "CREATOR", D("1.5")),
        ("PROFIT_SHARE", "SOURCES", D("1.5")),
        ("SUBSCRIPTION", "PLATFORM", D("20")),
    ]
    assert sum(D(r["amount_usd"]) for r in rows) == D(header["total_usd"])


def test_a_draft_downloads_under_its_month(client, ledger, signed_in):
    reply = client.get(f"/api/v1/billing/invoices/{ledger.december.id}/csv", headers=signed_in(ledger.trader))
    assert reply.status_code == 200
    assert f'filename="draft-2026-12-{ledger.december.id}.csv"' in reply.headers["content-disposition"]


def test_subscriptions_and_earnings(client, ledger, signed_in):
    subs = client.get("/api/v1/billing/subscriptions", headers=signed_in(ledger.trader)).json()
    assert [(s["deployment_id"], s["status"], s["agent_name"]) for s in subs] == [
        (ledger.deployment.id, "ACTIVE", ledger.agent.name)
    ]
    assert client.get("/api/v1/billing/subscriptions", headers=signed_in(ledger.stranger)).json() == []

    mine = client.get("/api/v1/billing/earnings", headers=signed_in(ledger.creator)).json()
    assert [(r["month"], D(r["accrued_usd"]), D(r["collected_usd"])) for r in mine["rows"]] == [
        ("2026-12", D("0.75"), D("0")),
        ("2026-11", D("1.5"), D("1.5")),
    ]
    figures = [D(mine[k]) for k in ("accrued_usd", "collected_usd", "paid_out_usd", "pending_usd")]
    assert figures == [D("2.25"), D("1.5"), D("1"), D("0.5")]
    assert D(mine["accrued_usd"]) == sum(D(r["accrued_usd"]) for r in mine["rows"])


# -- what an operator reads ----------------------------------------------------------------------------------


def test_the_operators_summary(client, ledger, signed_in):
    reply = client.get("/api/v1/admin/billing", headers=signed_in(ledger.operator))

    assert reply.status_code == 200
    summary = reply.json()
    assert summary["invoices_by_status"] == {"DRAFT": 1, "OPEN": 1, "PAID": 1, "VOID": 1, "UNCOLLECTIBLE": 0}
    assert [i["id"] for i in summary["overdue"]] == [ledger.october.id]
    assert [r["month"] for r in summary["revenue"]] == sorted(r["month"] for r in summary["revenue"])
    assert [(p["handle"], D(p["owed_usd"])) for p in summary["sources_pool"]] == [
        (ledger.source.handle, D("1.5"))
    ]
    assert [(c["address"], D(c["owed_usd"])) for c in summary["creators"]] == [
        (ledger.creator.address, D("0.5"))
    ]

    payouts = client.get("/api/v1/admin/billing/payouts", headers=signed_in(ledger.operator)).json()
    assert [(p["beneficiary"], p["beneficiary_address"], D(p["amount"])) for p in payouts] == [
        ("CREATOR", ledger.creator.address, D("1"))
    ]


def test_openapi_documents_the_billing_routes(client):
    paths = client.get("/api/openapi.json").json()["paths"]

    assert {"get"} <= set(paths["/api/v1/billing"])
    csv_answers = paths["/api/v1/billing/invoices/{invoice_id}/csv"]["get"]["responses"]
    assert "text/csv" in csv_answers["200"]["content"]
    assert {"401", "404"} <= set(csv_answers)
    void = paths["/api/v1/admin/billing/invoices/{invoice_id}/void"]["post"]["responses"]
    assert {"401", "403", "404", "409", "422"} <= set(void)
    assert {"get", "post"} == set(paths["/api/v1/admin/billing/payouts"])
