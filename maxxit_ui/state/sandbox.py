"""The Hyperliquid sandbox's faucet on the pages (only while `maxxit up` runs a sandbox: the demo).

A sandbox account must hold USDC before it can approve an agent or pay an invoice ("Must deposit before
performing actions"), so the deploy wizard and the Billing page offer sandbox USDC to the signed-in wallet.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.config import get_settings
from backend.sandbox.faucet import FaucetError, request_sandbox_usdc
from maxxit_ui.state.auth import current_user


class SandboxState(rx.State):
    enabled: bool = False
    amount: str = ""
    busy: bool = False
    message: str = ""
    error: str = ""

    @rx.event
    def load(self) -> None:
        settings = get_settings()
        self.enabled = bool(settings.hyperliquid_sandbox_url)
        self.amount = f"{settings.sandbox_faucet_usd:,.0f}"
        self.message = self.error = ""

    @rx.event(background=True)
    async def credit(self, address: str = "") -> None:
        """Credit the faucet's amount to `address` (default: the signed-in wallet)."""
        settings = get_settings()
        async with self:
            user = await current_user(self)
            if not settings.hyperliquid_sandbox_url or user is None or self.busy:
                return
            self.busy, self.message, self.error = True, "", ""
        target = address.strip() or user.address
        try:
            balance = await asyncio.to_thread(
                request_sandbox_usdc, settings.hyperliquid_sandbox_url, target, settings.sandbox_faucet_usd
            )
        except FaucetError as error:
            async with self:
                self.busy, self.error = False, f"No sandbox USDC: {error}."
            return
        async with self:
            self.busy = False
            self.message = (
                f"Credited {settings.sandbox_faucet_usd:,.0f} sandbox USDC to {target[:6]}…{target[-4:]}; "
                f"its sandbox balance is {balance:,.2f} USDC."
            )
