"""A browser wallet for Chromium tests: an EIP-1193 provider at `window.ethereum` whose key stays in pytest.

The page sees what MetaMask or Rabby would give it (`eth_requestAccounts`, `eth_accounts`, `eth_chainId`,
`personal_sign`, `eth_signTypedData_v4`); signing happens in the test process with eth_account, so the
server verifies a real EIP-191 signature over the very message it issued, and Hyperliquid a real EIP-712
signature over the typed data the page asked for. Like a real wallet, it refuses to sign a sign-in message
whose domain is not the page's own (EIP-4361 phishing protection), which also proves the server names the
domain the browser is on.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, BrowserContext

BINDING = "__maxxitBrowserWallet"
TYPED_BINDING = "__maxxitBrowserWalletTyped"
CHAIN_ID = "0xa4b1"  # Arbitrum One, the chain the sign-in messages name by default

PROVIDER_JS = """
(() => {
  const address = %(address)s;
  const chainId = %(chain_id)s;
  const rejected = (message) => Object.assign(new Error(message), { code: 4001 });
  window.ethereum = {
    isMaxxitBrowserWallet: true,
    async request({ method, params }) {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return [address];
        case "eth_chainId":
          return chainId;
        case "personal_sign": {
          const [data, from] = params || [];
          if (String(from).toLowerCase() !== address.toLowerCase()) {
            throw Object.assign(new Error("unknown account " + from), { code: 4100 });
          }
          const answer = await window[%(binding)s](String(data));
          if (answer.rejected) throw rejected("User rejected the request.");
          if (answer.error) throw Object.assign(new Error(answer.error), { code: -32603 });
          return answer.signature;
        }
        case "eth_signTypedData_v4": {
          const [from, data] = params || [];
          if (String(from).toLowerCase() !== address.toLowerCase()) {
            throw Object.assign(new Error("unknown account " + from), { code: 4100 });
          }
          if (typeof data !== "string") {
            throw Object.assign(new Error("typed data must be a JSON string"), { code: -32602 });
          }
          const answer = await window[%(typed_binding)s](data);
          if (answer.rejected) throw rejected("User rejected the request.");
          if (answer.error) throw Object.assign(new Error(answer.error), { code: -32603 });
          return answer.signature;
        }
        default:
          throw Object.assign(new Error("unsupported method " + method), { code: 4200 });
      }
    },
    on() {},
    removeListener() {},
  };
})();
"""


def _message_text(data: str) -> str:
    """personal_sign's first param: 0x-hex of UTF-8 bytes (what dapps send), or the plain text."""
    if data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:]).decode("utf-8")
        except ValueError:
            pass
    return data


@dataclasses.dataclass
class BrowserWallet:
    """One fresh account; `reject_next` makes the next signature request fail as a user's "Reject" does."""

    account: LocalAccount = dataclasses.field(default_factory=Account.create)
    reject_next: bool = False
    signed: list[str] = dataclasses.field(default_factory=list)
    signed_typed: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    # Sign typed data with this key instead, as a wallet whose active account is another one would.
    typed_signer: LocalAccount | None = None

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def short_address(self) -> str:
        lower = self.address.lower()
        return f"{lower[:6]}…{lower[-4:]}"

    def install(self, context: BrowserContext) -> None:
        """Give every page of `context` this wallet, before any of the page's own scripts run."""
        context.expose_binding(BINDING, self._sign)
        context.expose_binding(TYPED_BINDING, self._sign_typed)
        script = PROVIDER_JS % {
            "address": json.dumps(self.address),
            "chain_id": json.dumps(CHAIN_ID),
            "binding": json.dumps(BINDING),
            "typed_binding": json.dumps(TYPED_BINDING),
        }
        context.add_init_script(script)

    def _sign(self, source: dict[str, Any], data: str) -> dict[str, Any]:
        if self.reject_next:
            self.reject_next = False
            return {"rejected": True}
        text = _message_text(data)
        page_host = urlsplit(source["page"].url).netloc
        first_line = text.split("\n", 1)[0]
        if not first_line.startswith(f"{page_host} wants you to sign in"):
            return {"error": f"message is for another site than {page_host}: {first_line!r}"}
        signed = self.account.sign_message(encode_defunct(text=text))
        self.signed.append(text)
        return {"signature": "0x" + bytes(signed.signature).hex()}

    def _sign_typed(self, _source: dict[str, Any], data: str) -> dict[str, Any]:
        """eth_signTypedData_v4: EIP-712 over the full message (domain, types, primaryType, message)."""
        if self.reject_next:
            self.reject_next = False
            return {"rejected": True}
        try:
            message = json.loads(data)
            signer = self.typed_signer or self.account
            signed = Account.sign_typed_data(signer.key, full_message=message)
        except (ValueError, TypeError, KeyError) as error:
            return {"error": f"cannot sign this typed data: {error}"}
        self.signed_typed.append(message)
        return {"signature": "0x" + bytes(signed.signature).hex()}


def context_with_wallet(browser: Browser, wallet: BrowserWallet, **context_args: Any) -> BrowserContext:
    context = browser.new_context(**context_args)
    wallet.install(context)
    return context
