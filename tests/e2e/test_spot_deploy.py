"""In Chromium against the running app: a SPOT agent deployed to the user's own Safe on a local chain.

The app's spot chain is a session anvil (chain id 42161, as the injected wallet answers 0xa4b1) with the
Safe contracts, mock tokens and router, and the Maxxit module (tests/chain_support.py). The wizard asks for
the Safe, says what the module can and can never do, deploys, and the Safe page has the injected wallet sign
the enable transactions as EIP-712 typed data; the executor relays them and the deployment goes active; a
signal then buys through the module (the real Huey execution task, run inline). The executor's private key
must appear in no page HTML and in no websocket frame. SQLite only: the setup's
reads and writes run on both databases in tests/integration/test_safe_setup.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from backend.config import get_settings
from backend.db import migrate, session_scope
from backend.models import Agent, AgentDeployment, Position, SafeExecutor
from backend.models.common import utcnow
from backend.models.enums import DeploymentStatus, ExecutionVenue, Side, SignalStatus, Venue
from backend.wallets.keys import WalletCipher
from tests.chain_support import ChainHarness
from tests.e2e.conftest import Seeded, _database, _seed
from tests.e2e.frames import Frames
from tests.e2e.phone import PHONE, overflowing
from tests.e2e.wallet import BrowserWallet
from tests.factories import Factory

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """SQLite only (see the module's docstring)."""
    with _database("sqlite", tmp_path_factory) as url:
        migrate(url)
        yield _seed(url)


@pytest.fixture(scope="module")
def spot_env(local_chain: ChainHarness, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainHarness]:
    """The app's spot chain is the session anvil (set before the app starts)."""
    chain_file: Path = tmp_path_factory.mktemp("spot") / "spot_local_chain.json"
    local_chain.deployment.write(chain_file)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARBITRUM_RPC_URL", local_chain.anvil.url)
        mp.setenv("SPOT_CHAIN", "local")
        mp.setenv("SPOT_LOCAL_CHAIN_FILE", str(chain_file))
        get_settings.cache_clear()
        yield local_chain
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def app_url(spot_env: ChainHarness, app_url: str) -> str:
    """conftest's app, started only once the spot chain is configured."""
    assert get_settings().arbitrum_rpc_url == spot_env.anvil.url
    return app_url


def test_the_wizard_enables_the_module_with_the_injected_wallet_and_a_signal_buys_on_spot(
    new_page, app_url: str, spot_env: ChainHarness, inline_tasks: None
) -> None:
    chain = spot_env.deployment
    with session_scope() as session:
        agent = Factory(session).agent(name="E2E Spot Swing", venue=Venue.SPOT)
        agent_id = agent.id
    wallet, frames = BrowserWallet(), Frames()
    safe = chain.create_safe([wallet.address], 1)
    chain.fund_usdc(safe, Decimal(1000))
    page = new_page(wallet, frames)
    page.goto(f"{app_url}/marketplace")
    page.locator("#connect-wallet").click()
    expect(page.locator("#account-address")).to_have_text(wallet.short_address)
    page.set_viewport_size(PHONE)  # signed in at the desktop size: the phone header is the layout's to test
    page.goto(f"{app_url}/agents/{agent_id}/deploy")

    # Venue: spot, with a Safe step in place of account and approval.
    expect(page.locator("#deploy-paper-only")).to_have_count(0)
    page.locator("#deploy-route-spot").click()
    expect(page.locator("#deploy-stepper [id^=deploy-step-]")).to_have_count(4)
    page.locator("#deploy-next").click()

    # Safe: the address (refused beside the field), what the module can and can never do, its address.
    expect(page.locator("#deploy-step-safe")).to_have_attribute("data-state", "current")
    expect(page.locator("#deploy-module-scope-can")).to_contain_text("only into your Safe")
    expect(page.locator("#deploy-module-scope-tokens")).to_have_text("ARB, BTC, ETH")
    expect(page.locator("#deploy-module-scope-cannot")).to_contain_text("Transfer tokens out")
    expect(page.locator("#deploy-module-scope-cannot")).to_contain_text("Change your Safe's owners")
    expect(page.locator("#deploy-spot-module")).to_have_text(chain.module)
    page.locator("#deploy-safe-address").fill("0x1234")
    page.locator("#deploy-next").click()
    expect(page.locator("#field-error-safe-address")).to_have_text(
        "An address is 0x followed by 40 hex digits."
    )
    page.locator("#deploy-safe-address").fill(safe)
    expect(page.locator("#deploy-spot-safe")).to_have_text(safe)
    assert overflowing(page) == []
    page.locator("#deploy-next").click()
    page.locator("#deploy-next").click()  # risk: the agent's own
    expect(page.locator("#review-safe")).to_contain_text(safe)
    page.locator("#deploy-submit").click()

    # The Safe page: module, Safe, executor and its gas; the deployment waits for the module.
    expect(page).to_have_url(re.compile(r"/deployments/\d+/safe/?$"))
    expect(page.locator("#safe-not-enabled")).to_be_visible()
    expect(page.locator("#safe-module")).to_have_text(chain.module)
    expect(page.locator("#safe-address")).to_have_text(safe)
    with session_scope() as session:
        [deployment] = session.exec(select(AgentDeployment).where(AgentDeployment.agent_id == agent_id)).all()
        executor = session.exec(select(SafeExecutor).where(SafeExecutor.deployment_id == deployment.id)).one()
    assert deployment.status == DeploymentStatus.PENDING_APPROVAL
    expect(page.locator("#safe-executor")).to_have_text(executor.address)
    expect(page.locator("#safe-no-gas")).to_be_visible()
    expect(page.locator("[data-sonner-toast]")).to_have_count(0, timeout=15_000)  # "deployed" fades
    assert overflowing(page) == []
    chain.fund_eth(executor.address, 10**17)  # the user sends the executor a little ETH for gas
    page.locator("#safe-refresh").click()
    expect(page.locator("#safe-executor-balance")).to_have_text("0.1 ETH")

    page.locator("#safe-sign").click()

    expect(page.locator("#safe-enabled")).to_have_text("Module enabled", timeout=30_000)
    assert [m["message"]["nonce"] for m in wallet.signed_typed] == [0, 1]
    assert {m["domain"]["verifyingContract"] for m in wallet.signed_typed} == {safe}
    module = chain.module_contract()
    assert chain.safe_contract(safe).functions.isModuleEnabled(module.address).call()
    assert module.functions.isExecutor(safe, executor.address).call()
    with session_scope() as session:
        assert session.get(AgentDeployment, deployment.id).status == DeploymentStatus.ACTIVE
    # The executor's key never reached the browser.
    key = WalletCipher.from_settings(get_settings()).decrypt(executor.address, executor.encrypted_private_key)
    secret = bytes(key.key).hex()
    assert secret not in page.content().lower() and secret not in frames.all_text().lower()

    # A signal of the agent buys ETH with the Safe's USDC through the module, and the position shows.
    page.goto(f"{app_url}/deployments")
    expect(page.locator(f"#safe-{deployment.id}")).to_be_visible()  # the Safe page: cancel offers revoking
    _price_router_under_the_feed(spot_env)
    signal_id = _signal(agent_id, "$ETH breaking out, long")
    from tasks.execution import execute_signal_task

    assert execute_signal_task(signal_id).get() == 1
    with session_scope() as session:
        [position] = session.exec(select(Position).where(Position.deployment_id == deployment.id)).all()
    assert position.market == "ETH" and position.side == Side.LONG
    expect(page.locator(f"#position-{position.id}")).to_contain_text("ETH", timeout=15_000)
    # The Safe holds what was bought (a position's size keeps 10 decimals, the token 18).
    assert chain.balance("ETH", safe).quantize(position.size, rounding=ROUND_DOWN) == position.size
    assert chain.balance("USDC", safe) < Decimal(1000)


def _price_router_under_the_feed(chain: ChainHarness) -> None:
    """The mock pool gives 2% more ETH per USDC than the app's feed says (the simulated feed is seeded, so
    this process reads the app's own prices): any buy clears its slippage guard whatever the feed's drift
    over the next seconds. The spot markets are listed as the hourly refresh lists them."""
    from backend.markets.refresh import refresh_venues
    from backend.runtime import runtime

    spot = runtime().venues.get(ExecutionVenue.SPOT)
    mid = runtime().price_feed.mids(utcnow(), ["ETH"])["ETH"]
    chain.deployment.set_price("USDC", "ETH", Decimal("1.02") / mid)
    with session_scope() as session:
        refresh_venues(session, [spot], utcnow())


def _signal(agent_id: int, text: str) -> int:
    with session_scope() as session:
        f = Factory(session)
        agent = session.get(Agent, agent_id)
        post = f.post(f.ct_account(), text=text, posted_at=utcnow())
        signal = f.signal(agent, post, token="ETH", score=Decimal("0.8"), status=SignalStatus.PENDING)
        signal.created_at = utcnow()
        session.add(signal)
        session.commit()
        return signal.id
