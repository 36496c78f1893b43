"""The Reflex app: the REST API mounted beside the UI, and the pages with their on_load reads."""

from __future__ import annotations

import reflex as rx

from backend.api import create_api
from backend.runtime import configured_events, configured_sweeps
from maxxit_ui.components.wallet import WALLET_SCRIPT
from maxxit_ui.pages import (
    admin_audit,
    admin_billing,
    admin_ct_accounts,
    admin_monitor,
    admin_posts,
    admin_users,
    admin_venues,
    agent_signals,
    backtest_sweep,
    billing,
    builder,
    dashboard,
    deploy,
    deploy_safe,
    deployments,
    earnings,
    invoice,
    my_agents,
    not_found,
    notifications,
    notify_settings,
    signin,
    verify_email,
)
from maxxit_ui.pages.agent import ROUTE as AGENT_ROUTE
from maxxit_ui.pages.agent import agent
from maxxit_ui.pages.landing import landing
from maxxit_ui.pages.marketplace import marketplace
from maxxit_ui.session_cookie import SessionCookieShield
from maxxit_ui.state.admin import AdminUsersState, AuditState
from maxxit_ui.state.admin_billing import AdminBillingState
from maxxit_ui.state.admin_monitor import AdminMonitorState
from maxxit_ui.state.admin_venues import AdminVenuesState
from maxxit_ui.state.agent import AgentState
from maxxit_ui.state.agent_signals import AgentSignalsState
from maxxit_ui.state.auth import AuthState
from maxxit_ui.state.backtest_sweep import BacktestSweepState
from maxxit_ui.state.billing import BillingState, InvoiceState
from maxxit_ui.state.builder import BuilderState
from maxxit_ui.state.ct_accounts import CtAccountsState
from maxxit_ui.state.dashboard import DashboardState
from maxxit_ui.state.deploy import DeployState
from maxxit_ui.state.deploy_safe import SafeSetupState
from maxxit_ui.state.deployments import DeploymentsState
from maxxit_ui.state.earnings import EarningsState
from maxxit_ui.state.landing import LandingState
from maxxit_ui.state.marketplace import MarketplaceState
from maxxit_ui.state.my_agents import MyAgentsState
from maxxit_ui.state.notifications import InboxState
from maxxit_ui.state.notify_settings import NotifySettingsState
from maxxit_ui.state.posts import PostsState
from maxxit_ui.state.verify_email import VerifyEmailState
from maxxit_ui.state.webhooks import WebhooksState

# The theme lives in rxconfig.py (RadixThemesPlugin): App(theme=...) is deprecated in Reflex 0.10.
# Pasted posts sent to the mounted REST API go to the same classifier queue as the admin page's.
# SessionCookieShield keeps the HttpOnly session cookie out of Reflex state (see maxxit_ui/session_cookie.py).
# assets/touch.css: every button and control at least 40 px tall on a phone.
app = rx.App(
    api_transformer=[create_api(events=configured_events, sweeps=configured_sweeps), SessionCookieShield],
    head_components=[rx.script(src=WALLET_SCRIPT)],
    stylesheets=["/touch.css"],
)

# Public pages: the header shows whoever the session cookie belongs to.
app.add_page(
    landing, route="/", title="Maxxit · AI trading agents", on_load=[AuthState.restore, LandingState.load]
)
app.add_page(
    marketplace,
    route="/marketplace",
    title="Marketplace · Maxxit",
    on_load=[AuthState.restore, MarketplaceState.load],
)
app.add_page(
    agent, route=AGENT_ROUTE, title=AgentState.page_title, on_load=[AuthState.restore, AgentState.load]
)
app.add_page(
    agent_signals.agent_signals,
    route=agent_signals.ROUTE,
    title=AgentSignalsState.page_title,
    on_load=[AuthState.restore, AgentSignalsState.load],
)
app.add_page(signin.signin, route=signin.ROUTE, title="Sign in · Maxxit", on_load=AuthState.signin_load)

# Signed-in pages: each load re-checks the session and sends visitors to /signin?next=<here>.
app.add_page(
    builder.builder, route=builder.NEW_ROUTE, title="Build an agent · Maxxit", on_load=BuilderState.load_new
)
app.add_page(
    builder.builder, route=builder.EDIT_ROUTE, title="Edit agent · Maxxit", on_load=BuilderState.load_edit
)
app.add_page(
    my_agents.my_agents, route=my_agents.ROUTE, title="My agents · Maxxit", on_load=MyAgentsState.load
)
app.add_page(deploy.deploy, route=deploy.ROUTE, title=DeployState.page_title, on_load=DeployState.load)
app.add_page(
    deploy_safe.deploy_safe,
    route=deploy_safe.ROUTE,
    title=SafeSetupState.page_title,
    on_load=SafeSetupState.load,
)
app.add_page(
    deployments.deployments,
    route=deployments.ROUTE,
    title="My deployments · Maxxit",
    on_load=DeploymentsState.load,
)
app.add_page(
    dashboard.dashboard, route=dashboard.ROUTE, title="Dashboard · Maxxit", on_load=DashboardState.load
)
app.add_page(billing.billing, route=billing.ROUTE, title="Billing · Maxxit", on_load=BillingState.load)
app.add_page(
    invoice.invoice, route=invoice.INVOICE_ROUTE, title="Invoice · Maxxit", on_load=InvoiceState.load
)
app.add_page(
    verify_email.verify_email,
    route=verify_email.ROUTE,
    title="Verify email · Maxxit",
    on_load=VerifyEmailState.load,
)
app.add_page(
    backtest_sweep.backtest_sweep,
    route=backtest_sweep.ROUTE,
    title="Parameter sweep · Maxxit",
    on_load=BacktestSweepState.load,
)
app.add_page(earnings.earnings, route=earnings.ROUTE, title="Earnings · Maxxit", on_load=EarningsState.load)
app.add_page(
    notifications.notifications,
    route=notifications.ROUTE,
    title="Notifications · Maxxit",
    on_load=InboxState.load,
)
app.add_page(
    notify_settings.notify_settings,
    route=notify_settings.ROUTE,
    title="Notification settings · Maxxit",
    on_load=[NotifySettingsState.load, WebhooksState.load],
)

# Operator pages: "Admins only" for signed-in traders.
app.add_page(
    admin_users.admin_users,
    route=admin_users.ROUTE,
    title="Admin: users · Maxxit",
    on_load=AdminUsersState.load,
)
app.add_page(
    admin_audit.admin_audit,
    route=admin_audit.ROUTE,
    title="Admin: audit log · Maxxit",
    on_load=AuditState.load,
)
app.add_page(
    admin_ct_accounts.admin_ct_accounts,
    route=admin_ct_accounts.ROUTE,
    title="Admin: CT accounts · Maxxit",
    on_load=CtAccountsState.load,
)
app.add_page(
    admin_posts.admin_posts,
    route=admin_posts.ROUTE,
    title="Admin: posts · Maxxit",
    on_load=PostsState.load,
)
app.add_page(
    admin_monitor.admin_monitor,
    route=admin_monitor.ROUTE,
    title="Admin: monitor · Maxxit",
    on_load=AdminMonitorState.load,
)
app.add_page(
    admin_venues.admin_venues,
    route=admin_venues.ROUTE,
    title="Admin: venues · Maxxit",
    on_load=AdminVenuesState.load,
)
app.add_page(
    admin_billing.admin_billing,
    route=admin_billing.ROUTE,
    title="Admin: billing · Maxxit",
    on_load=AdminBillingState.load,
)

# Any other address: the 404 page with the header (the visitor's session restored, as on public pages).
app.add_page(not_found.not_found, route=not_found.ROUTE, title=not_found.TITLE, on_load=AuthState.restore)
