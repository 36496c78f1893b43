"""In Chromium against the running app: deploy agents through the wizard and watch them on /deployments.

Paper: every wizard step with its field checks, then pause, resume, a signal that opens a position (the real
Huey execution task, run inline as no consumer runs beside the harness), and cancel. Hyperliquid: the app
talks to the local Hyperliquid-compatible server (HYPERLIQUID_API), the injected wallet signs the
approveAgent typed data, and the server must know the agent for the user afterwards; with the platform's
builder fee configured, the same wallet then approves it (shown as a percent) before the wizard moves on.
The agent wallet's private key must appear in no page HTML and in no websocket frame the page received.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from hyperliquid.api import API
from playwright.sync_api import Page, expect
from sqlmodel import select

from backend.agents.drafts import AgentPatch
from backend.agents.editing import update_agent
from backend.agents.versions import latest_version
from backend.auth.identity import CurrentUser
from backend.config import get_settings
from backend.db import session_scope
from backend.models import Agent, AgentDeployment, AgentWallet, CtAccount, Position, User
from backend.models.common import utcnow
from backend.models.enums import AgentStatus, Role, SignalStatus, Venue
from backend.venues.catalog import PAPER_ONLY_NOTE
from backend.wallets.keys import WalletCipher
from backend.wallets.service import prepare_agent_wallet
from tests.e2e.conftest import Seeded
from tests.e2e.frames import Frames
from tests.e2e.phone import PHONE, overflowing
from tests.e2e.wallet import BrowserWallet
from tests.factories import Factory
from tests.hyperliquid_server import HyperliquidServer

pytestmark = pytest.mark.e2e

HL_FUNDS = Decimal(10_000)
PLATFORM = Account.create().address
BUILDER_FEE = 10  # tenths of a basis point: 0.01%


@pytest.fixture(scope="module")
def hl_server() -> Iterator[HyperliquidServer]:
    with HyperliquidServer() as server:
        yield server


@pytest.fixture(scope="module")
def hyperliquid_env(hl_server: HyperliquidServer) -> Iterator[None]:
    """The app's Hyperliquid venue and approvals go to the local server (set before the app starts)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HYPERLIQUID_API", hl_server.url)
        mp.setenv("PLATFORM_ADDRESS", PLATFORM)
        mp.setenv("BUILDER_FEE_TENTHS_BPS", str(BUILDER_FEE))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def app_url(hyperliquid_env: None, app_url: str) -> str:
    """conftest's app, started only once HYPERLIQUID_API points at the local server."""
    assert get_settings().hyperliquid_base_url.startswith("http://127.0.0.1:")
    return app_url


def sign_in(page: Page, app_url: str, wallet: BrowserWallet, path: str = "/marketplace") -> None:
    page.goto(f"{app_url}{path}")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)


def step_state(page: Page, step: str) -> str | None:
    return page.locator(f"#deploy-step-{step}").get_attribute("data-state")


def expect_step(page: Page, step: str) -> None:
    expect(page.locator(f"#deploy-step-{step}")).to_have_attribute("data-state", "current")


def deployments_of(address: str) -> list[AgentDeployment]:
    with session_scope() as session:
        user = session.exec(select(User).where(User.address == address.lower())).one()
        query = select(AgentDeployment).where(AgentDeployment.user_id == user.id).order_by(AgentDeployment.id)
        return list(session.exec(query).all())


def test_visitors_and_inactive_agents(new_page, app_url: str, seeded: Seeded) -> None:
    with session_scope() as session:
        paused_id = Factory(session).agent(name="E2E Paused", status=AgentStatus.PAUSED).id

    page = new_page()
    page.goto(f"{app_url}/agents/{seeded.gmx_id}")
    link = page.locator("#signin-to-deploy")
    expect(link).to_have_text("Sign in to deploy")
    expect(page.locator("#deploy-link")).to_have_count(0)
    assert link.get_attribute("href") == f"/signin?next=/agents/{seeded.gmx_id}/deploy"
    page.goto(f"{app_url}/deployments")
    expect(page).to_have_url(re.compile(r"/signin/?\?next=/deployments/?$"))
    page.goto(f"{app_url}/agents/{seeded.gmx_id}/deploy")
    expect(page).to_have_url(re.compile(rf"/signin/?\?next=/agents/{seeded.gmx_id}/deploy/?$"))

    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet, f"/agents/{paused_id}")
    expect(page.locator("#agent-deploy-unavailable")).to_contain_text("Paused by its creator")
    expect(page.locator("#deploy-link")).to_have_count(0)
    page.goto(f"{app_url}/agents/{paused_id}/deploy")
    expect(page.locator("#deploy-unavailable")).to_contain_text("paused this agent")
    expect(page.locator("#deploy-next")).to_have_count(0)

    page.locator("#account-menu").click()
    page.locator("#menu-my-deployments").click()
    expect(page).to_have_url(re.compile(r"/deployments/?$"))
    expect(page.locator("#deployments-empty")).to_have_text("You have not deployed an agent yet.")
    expect(page.locator("#deployments-marketplace")).to_have_attribute("href", "/marketplace")


def test_deploy_to_paper_then_pause_resume_trade_and_cancel(
    new_page, app_url: str, seeded: Seeded, inline_tasks: None
) -> None:
    wallet = BrowserWallet()
    page = new_page(wallet)
    # A visitor's "Sign in to deploy" comes back to the wizard after signing in.
    page.goto(f"{app_url}/agents/{seeded.gmx_id}")
    page.locator("#signin-to-deploy").click()
    page.locator("#signin-connect").click()
    expect(page).to_have_url(re.compile(rf"/agents/{seeded.gmx_id}/deploy/?$"))
    expect(page.locator("#deploy-heading")).to_have_text(f"Deploy {seeded.gmx_name}")

    # Venue: a GMX agent deploys to paper only, and the wizard says so plainly.
    expect_step(page, "venue")
    expect(page.locator("#deploy-paper-only")).to_have_text(PAPER_ONLY_NOTE)
    expect(page.locator("#deploy-stepper [id^=deploy-step-]")).to_have_count(4)  # no approval step
    expect(page.locator("#deploy-route-paper")).to_be_visible()
    expect(page.locator("#deploy-route-hyperliquid")).to_have_count(0)
    page.locator("#deploy-next").click()

    # Account: the paper balance, checked before the wizard moves on.
    expect_step(page, "account")
    assert step_state(page, "venue") == "done"
    balance = page.locator("#deploy-starting-balance")
    expect(balance).to_have_value("10000")
    balance.fill("50")
    page.locator("#deploy-next").click()
    expect(page.locator("#field-error-starting-balance")).to_have_text(
        "Starting balance must be between $100 and $100,000,000."
    )
    expect_step(page, "account")
    balance.fill("2500")
    expect(page.locator("#field-error-starting-balance")).to_have_count(0)
    page.locator("#deploy-next").click()

    # Risk: the agent's own settings, in percent; bad values refused beside their field.
    expect_step(page, "risk")
    expect(page.locator("#deploy-stoploss")).to_have_value("10")
    expect(page.locator("#deploy-trailing-stop-positive-offset")).to_have_value("3")
    expect(page.locator("#deploy-trailing-stop-positive")).to_have_value("1")
    expect(page.locator("#deploy-leverage-cap")).to_have_value("1")  # the agent's leverage
    page.locator("#deploy-leverage-cap").fill("60")
    page.locator("#deploy-stoploss").fill("100")
    page.locator("#deploy-next").click()
    expect(page.locator("#field-error-leverage-cap")).to_have_text("Leverage cap must be at most 50\u00d7.")
    expect(page.locator("#field-error-stoploss")).to_have_text("Stop loss must be below 100 %.")
    page.locator("#deploy-leverage-cap").fill("2")
    page.locator("#deploy-stoploss").fill("8")
    page.locator("#deploy-max-trade-usd").fill("400")
    page.locator("#deploy-next").click()

    # Review: everything chosen; the stepper goes back to a passed step and forward again.
    expect_step(page, "review")
    expect(page.locator("#review-venue")).to_contain_text("Paper only")
    expect(page.locator("#review-balance")).to_contain_text("$2,500.00")
    expect(page.locator("#review-stop-loss")).to_contain_text("8.0%")
    expect(page.locator("#review-leverage")).to_contain_text("2\u00d7")
    expect(page.locator("#review-max-trade")).to_contain_text("$400.00")
    page.locator("#deploy-step-account").click()
    expect_step(page, "account")
    expect(balance).to_have_value("2500")
    page.locator("#deploy-next").click()
    page.locator("#deploy-next").click()
    page.locator("#deploy-submit").click()

    expect(page).to_have_url(re.compile(r"/deployments/?$"))
    [deployment] = deployments_of(wallet.address)
    assert deployment.venue == "PAPER" and deployment.status == "ACTIVE"
    assert deployment.capital_usd == Decimal("2500") and deployment.stoploss == Decimal("0.08")
    assert deployment.leverage_cap == Decimal("2") and deployment.max_trade_usd == Decimal("400")
    assert (
        deployment.sizing_profile is None and deployment.trailing_stop_positive_offset is None
    )  # the agent's
    row = page.locator(f"#deployment-{deployment.id}")
    expect(row).to_contain_text(seeded.gmx_name)
    expect(row).to_contain_text("Paper")
    expect(row).to_contain_text("$2,500.00")
    status = page.locator(f"#status-{deployment.id}")
    expect(status).to_have_text("Active")

    page.locator(f"#pause-{deployment.id}").click()
    expect(status).to_have_text("Paused")
    expect(page.locator(f"#pause-{deployment.id}")).to_have_count(0)
    assert deployments_of(wallet.address)[0].status == "PAUSED"
    page.locator(f"#resume-{deployment.id}").click()
    expect(status).to_have_text("Active")
    assert deployments_of(wallet.address)[0].status == "ACTIVE"

    # A signal of the agent opens a position, and the open page shows it on its own within seconds.
    expect(page.locator("#positions-empty")).to_be_visible()
    signal_id = _signal(seeded, "$ETH reclaiming the range high, long from here")
    from tasks.execution import execute_signal_task

    assert execute_signal_task(signal_id).get() == 1
    with session_scope() as session:
        [position] = session.exec(select(Position).where(Position.deployment_id == deployment.id)).all()
    position_row = page.locator(f"#position-{position.id}")
    expect(position_row).to_contain_text("ETH", timeout=15_000)
    expect(position_row).to_contain_text("LONG")
    expect(position_row).to_contain_text("0.72")
    expect(position_row).to_contain_text("reclaiming the range high")
    expect(position_row).to_contain_text("venue + $0.00 Maxxit")  # the venue's fee; paper pays Maxxit nothing
    expect(position_row.get_by_role("link", name="signals →")).to_have_attribute(
        "href", f"/agents/{seeded.gmx_id}/signals"
    )
    expect(page.locator(f"#open-{deployment.id}")).to_have_text("1")
    page.locator("#positions-status").get_by_role("radio", name="Closed").click()
    expect(page.locator("#positions-empty")).to_be_visible()
    page.locator("#positions-status").get_by_role("radio", name="Open").click()
    expect(position_row).to_be_visible()

    # The creator edits the strategy: the deployment keeps its version until its owner accepts the new one.
    newest = _edit_leverage(seeded.gmx_id, "2")
    page.reload()
    expect(page.locator(f"#new-version-{deployment.id}")).to_contain_text("A new version is available (v2)")
    assert deployments_of(wallet.address)[0].agent_version_id != newest
    page.locator(f"#accept-version-{deployment.id}").click()
    expect(page.locator(f"#new-version-{deployment.id}")).to_have_count(0)
    expect(page.locator(f"#deployment-{deployment.id}")).to_contain_text("v2")
    assert deployments_of(wallet.address)[0].agent_version_id == newest
    _edit_leverage(seeded.gmx_id, "1")  # back to 1x (as version 3) for the tests after this one

    # Cancel asks first, and says open positions stay managed.
    page.locator(f"#cancel-{deployment.id}").click()
    expect(page.locator("#cancel-dialog")).to_contain_text("stay managed by their exits")
    page.locator("#cancel-confirm").click()
    expect(status).to_have_text("Cancelled")
    expect(page.locator(f"#resume-{deployment.id}")).to_have_count(0)
    expect(page.locator(f"#cancel-{deployment.id}")).to_have_count(0)
    assert deployments_of(wallet.address)[0].status == "CANCELLED"


def _edit_leverage(agent_id: int, leverage: str) -> int:
    """The creator's edit, as the builder saves it; the id of the version it made."""
    with session_scope() as session:
        creator = session.get(User, session.get(Agent, agent_id).creator_id)
        me = CurrentUser(id=creator.id, address=creator.address, role=Role(creator.role))
        update_agent(session, me, agent_id, AgentPatch.model_validate({"risk": {"leverage": leverage}}))
        return latest_version(session, agent_id).id


def _signal(seeded: Seeded, text: str) -> int:
    with session_scope() as session:
        f = Factory(session)
        account = session.exec(select(CtAccount).where(CtAccount.handle == seeded.handle)).one()
        post = f.post(account, text=text, posted_at=utcnow())
        agent = session.get(Agent, seeded.gmx_id)
        signal = f.signal(agent, post, token="ETH", score=Decimal("0.72"), status=SignalStatus.PENDING)
        signal.created_at = utcnow()
        session.add(signal)
        session.commit()
        return signal.id


def test_deploy_to_hyperliquid_with_an_approved_agent_wallet(
    new_page, app_url: str, seeded: Seeded, hl_server: HyperliquidServer
) -> None:
    wallet = BrowserWallet()
    hl_server.fund(wallet.address, HL_FUNDS)
    frames = Frames()
    page = new_page(wallet, frames)
    sign_in(page, app_url, wallet, f"/agents/{seeded.hyper_id}")
    page.locator("#deploy-link").click()
    expect(page).to_have_url(re.compile(rf"/agents/{seeded.hyper_id}/deploy/?$"))

    expect(page.locator("#deploy-paper-only")).to_have_count(0)  # Hyperliquid trades live
    page.locator("#deploy-route-hyperliquid").click()
    expect(page.locator("#deploy-stepper [id^=deploy-step-]")).to_have_count(5)
    page.locator("#deploy-next").click()
    expect_step(page, "account")
    address = page.locator("#deploy-user-wallet")
    expect(address).to_have_value(wallet.address.lower())
    expect(page.locator("#deploy-agent-wallet-note")).to_contain_text("fresh agent wallet")
    address.fill("0x1234")
    page.locator("#deploy-next").click()
    expect(page.locator("#field-error-user-wallet")).to_have_text(
        "An address is 0x followed by 40 hex digits."
    )
    address.fill(wallet.address)
    page.locator("#deploy-next").click()

    # Approval: no way past it without an approved agent wallet.
    expect_step(page, "approval")
    expect(page.locator("#deploy-wallet-scope")).to_contain_text(
        "can place and cancel orders on your Hyperliquid account. It cannot withdraw or transfer your funds."
    )
    page.locator("#deploy-next").click()
    expect(page.locator("#deploy-approval-error")).to_contain_text("approve it in your wallet first")
    page.locator("#deploy-create-wallet").click()
    agent_address = page.locator("#deploy-agent-wallet")
    expect(agent_address).to_have_text(re.compile(r"^0x[0-9a-fA-F]{40}$"))
    agent = agent_address.inner_text()
    assert hl_server.agents(wallet.address) == {}

    # A rejection in the wallet and an unreachable Hyperliquid each say so, and "Try again" retries.
    wallet.reject_next = True
    page.locator("#deploy-approve").click()
    expect(page.locator("#deploy-approval-error")).to_contain_text("You rejected the approval in your wallet")
    hl_server.fail_next(503, path="/exchange")
    page.locator("#deploy-approval-retry").click()
    expect(page.locator("#deploy-approval-error")).to_contain_text("Hyperliquid cannot be reached right now")
    assert hl_server.agents(wallet.address) == {}
    page.locator("#deploy-approval-retry").click()
    expect(page.locator("#deploy-approved")).to_be_visible()
    expect(page.locator("#deploy-approval-error")).to_have_count(0)
    assert [a.lower() for a in hl_server.agents(wallet.address).values()] == [agent.lower()]
    typed = wallet.signed_typed[-1]
    assert typed["primaryType"] == "HyperliquidTransaction:ApproveAgent"
    assert typed["message"]["agentAddress"].lower() == agent.lower()

    # The builder fee: as a percent, approved by the account's own wallet, required before moving on.
    expect(page.locator("#deploy-builder-fee")).to_have_text(
        "0.01% of each order's notional, collected by Hyperliquid"
    )
    page.locator("#deploy-next").click()
    expect(page.locator("#deploy-approval-error")).to_contain_text("Approve the builder fee in your wallet")
    page.locator("#deploy-approve-fee").click()
    expect(page.locator("#deploy-fee-approved")).to_be_visible()
    typed = wallet.signed_typed[-1]
    assert typed["primaryType"] == "HyperliquidTransaction:ApproveBuilderFee"
    assert (typed["message"]["builder"], typed["message"]["maxFeeRate"]) == (PLATFORM.lower(), "0.01%")
    max_fee = {"type": "maxBuilderFee", "user": wallet.address, "builder": PLATFORM}
    assert API(hl_server.url).post("/info", max_fee) == BUILDER_FEE
    html = [page.content()]

    page.locator("#deploy-next").click()
    expect_step(page, "risk")
    page.locator("#deploy-next").click()
    expect_step(page, "review")
    expect(page.locator("#review-venue")).to_contain_text("Hyperliquid only")
    expect(page.locator("#review-account")).to_contain_text(wallet.address)
    expect(page.locator("#review-agent-wallet")).to_contain_text(agent)
    expect(page.locator("#review-builder-fee")).to_contain_text("0.01% of each order's notional")
    expect(page.locator("#review-balance")).to_have_count(0)
    page.locator("#deploy-submit").click()

    expect(page).to_have_url(re.compile(r"/deployments/?$"))
    [deployment] = deployments_of(wallet.address)
    assert deployment.venue == "HYPERLIQUID" and deployment.status == "ACTIVE"
    assert deployment.user_wallet == wallet.address.lower()
    row = page.locator(f"#deployment-{deployment.id}")
    expect(row).to_contain_text("Hyperliquid")
    expect(row).to_contain_text("$10,000.00")  # the balance as the Hyperliquid server reports it
    expect(page.locator(f"#status-{deployment.id}")).to_have_text("Active")
    html.append(page.content())

    # The agent wallet's key: in the database (encrypted), and nowhere the browser could see.
    with session_scope() as session:
        stored = session.exec(select(AgentWallet).where(AgentWallet.deployment_id == deployment.id)).one()
        assert stored.address.lower() == agent.lower()
        key = (
            WalletCipher.from_settings(get_settings())
            .decrypt(stored.address, stored.encrypted_private_key)
            .key
        )
    key_hex = bytes(key).hex()
    seen = ("\n".join(html) + "\n" + frames.text()).lower()
    assert frames.received and agent.lower() in frames.text().lower()  # the capture did see the wallet
    assert key_hex not in seen


def test_a_refusal_goes_back_to_the_step_with_its_field(new_page, app_url: str, seeded: Seeded) -> None:
    """Hyperliquid allows three agent wallets per account: the fourth is refused beside the account field."""
    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet, f"/agents/{seeded.hyper_id}/deploy")
    with session_scope() as session:
        row = session.exec(select(User).where(User.address == wallet.address.lower())).one()
        user = CurrentUser(id=row.id, address=row.address, role=Role(row.role))
        cipher = WalletCipher.from_settings(get_settings())
        for slot in range(1, 4):  # three live deployments whose approved agents hold the account's names
            view = prepare_agent_wallet(session, user, wallet.address, cipher=cipher)
            deployment = AgentDeployment(
                agent_id=seeded.hyper_id,
                user_id=user.id,
                venue="HYPERLIQUID",
                user_wallet=wallet.address.lower(),
            )
            session.add(deployment)
            session.flush()
            held = session.get(AgentWallet, view.id)
            held.agent_name, held.approved_at, held.deployment_id = f"maxxit {slot}", utcnow(), deployment.id
            session.flush()

    page.locator("#deploy-route-hyperliquid").click()
    page.locator("#deploy-next").click()
    page.locator("#deploy-next").click()
    expect_step(page, "approval")
    page.locator("#deploy-create-wallet").click()
    expect_step(page, "account")
    expect(page.locator("#field-error-user-wallet")).to_contain_text(
        "Hyperliquid allows 3 agent wallets per account"
    )
    expect(page.locator("[data-sonner-toast]").first).to_contain_text("Nothing was deployed")


def test_an_approval_signed_by_another_account_is_refused(
    new_page, app_url: str, seeded: Seeded, hl_server: HyperliquidServer
) -> None:
    wallet = BrowserWallet(typed_signer=Account.create())
    hl_server.fund(wallet.address, HL_FUNDS)
    page = new_page(wallet)
    sign_in(page, app_url, wallet, f"/agents/{seeded.hyper_id}/deploy")
    page.locator("#deploy-route-hyperliquid").click()
    page.locator("#deploy-next").click()
    page.locator("#deploy-next").click()
    page.locator("#deploy-create-wallet").click()
    page.locator("#deploy-approve").click()
    error = page.locator("#deploy-approval-error")
    expect(error).to_contain_text(f"Signed by {wallet.typed_signer.address}, but the Hyperliquid account is")
    assert hl_server.agents(wallet.address) == {}
    wallet.typed_signer = None  # the user switches to the right account in the wallet
    page.locator("#deploy-approval-retry").click()
    expect(page.locator("#deploy-approved")).to_be_visible()
    assert len(hl_server.agents(wallet.address)) == 1


def test_at_the_deployment_cap_the_wizard_says_why(new_page, app_url: str, seeded: Seeded) -> None:
    """The cap is enforced in the service the wizard calls, and its reason shows beside the form."""
    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet, f"/agents/{seeded.gmx_id}/deploy")
    cap = get_settings().max_active_deployments_per_user
    with session_scope() as session:
        user = session.exec(select(User).where(User.address == wallet.address.lower())).one()
        for _ in range(cap):
            # Made an hour ago: this test is about the cap, not the minute's creation budget.
            made = utcnow() - timedelta(hours=1)
            session.add(
                AgentDeployment(agent_id=seeded.gmx_id, user_id=user.id, venue="PAPER", created_at=made)
            )

    expect_step(page, "venue")
    page.locator("#deploy-next").click()
    page.locator("#deploy-next").click()
    page.locator("#deploy-next").click()
    expect_step(page, "review")
    page.locator("#deploy-submit").click()

    expect(page.locator("#deploy-form-error")).to_contain_text(f"You already have {cap} live deployments")
    expect(page.locator("[data-sonner-toast]").first).to_contain_text("Nothing was deployed")
    assert len(deployments_of(wallet.address)) == cap


def fits_the_screen(page: Page) -> None:
    assert overflowing(page) == []
    for button in page.locator("#deploy-step-card ~ div button, #deploy-step-card ~ div a").all():
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_a_multi_agent_deploys_live_or_on_paper_never_both(new_page, app_url: str, seeded: Seeded) -> None:
    """Paper is no fallback for a live deployment: each route is one venue; on a phone too."""
    with session_scope() as session:
        agent = Factory(session).agent(name="E2E Multi Router", venue=Venue.MULTI)
        agent_id = agent.id
    wallet = BrowserWallet()
    page = new_page(wallet)
    sign_in(page, app_url, wallet)  # at the desktop size: the phone header is the layout's to test
    page.set_viewport_size(PHONE)
    page.goto(f"{app_url}/agents/{agent_id}/deploy")
    expect_step(page, "venue")
    routes = page.locator("#deploy-route [id^=deploy-route-]")
    expect(routes).to_have_count(2)
    assert [routes.nth(i).get_attribute("id") for i in range(2)] == [
        "deploy-route-paper",
        "deploy-route-hyperliquid",
    ]
    expect(page.locator("#deploy-route-paper")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#deploy-route-hyperliquid")).to_contain_text("never traded on paper")
    expect(page.locator("#deploy-multi-note")).to_contain_text("never falls back to paper")
    expect(page.locator("#deploy-paper-only")).to_have_count(0)
    fits_the_screen(page)

    page.locator("#deploy-route-hyperliquid").click()
    page.locator("#deploy-next").click()
    expect_step(page, "account")
    expect(page.locator("#deploy-starting-balance")).to_have_count(0)  # no paper balance on a live route
    expect(page.locator("#deploy-user-wallet")).to_be_visible()
    fits_the_screen(page)
    page.locator("#deploy-back").click()
    page.locator("#deploy-route-paper").click()
    page.locator("#deploy-next").click()
    expect(page.locator("#deploy-starting-balance")).to_be_visible()
    expect(page.locator("#deploy-user-wallet")).to_have_count(0)
