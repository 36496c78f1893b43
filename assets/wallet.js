// Maxxit's bridge to the browser wallet (any EIP-1193 provider at window.ethereum: MetaMask, Rabby, ...).
//
// Every call resolves, never rejects: {ok: true, value} or {ok: false, code, error}, so the Reflex
// handler that receives the result always runs and can show the reason. Codes: "no_wallet",
// "rejected" (the user declined in the wallet, EIP-1193 code 4001), "refused" (the server said no),
// "failed" (anything else).
//
// Page handlers may run before this file has loaded (slow connections): they wait for the
// "maxxit-wallet-ready" event this file dispatches once `window.maxxitWallet` exists (see
// maxxit_ui/state/wallet_bridge.py).
(function () {
  "use strict";

  const USER_REJECTED = 4001;
  const NO_WALLET = "No wallet found — install MetaMask or Rabby";

  function provider() {
    return typeof window !== "undefined" && window.ethereum ? window.ethereum : null;
  }

  function failure(error, rejectedMessage, fallback) {
    if (error && (error.code === USER_REJECTED || error.code === "ACTION_REJECTED")) {
      return { ok: false, code: "rejected", error: rejectedMessage };
    }
    const message = error && (error.message || String(error));
    return { ok: false, code: "failed", error: message || fallback };
  }

  // personal_sign takes the message as 0x-hex of its UTF-8 bytes; wallets show it decoded.
  function utf8ToHex(text) {
    const bytes = new TextEncoder().encode(text);
    return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // FastAPI's error body: {"detail": "..."} or {"detail": [{"field", "message"}]}.
  function detailOf(body) {
    if (!body || body.detail === undefined) return "";
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.message || String(d)).join("; ");
    return String(body.detail);
  }

  window.maxxitWallet = {
    available() {
      return provider() !== null;
    },

    async accounts() {
      const eth = provider();
      if (!eth) return { ok: false, code: "no_wallet", error: NO_WALLET };
      try {
        const accounts = await eth.request({ method: "eth_requestAccounts" });
        if (!Array.isArray(accounts) || accounts.length === 0) {
          return { ok: false, code: "failed", error: "The wallet shared no account" };
        }
        return { ok: true, value: String(accounts[0]) };
      } catch (error) {
        return failure(error, "Connection request rejected in your wallet", "The wallet could not connect");
      }
    },

    async sign(message, address) {
      const eth = provider();
      if (!eth) return { ok: false, code: "no_wallet", error: NO_WALLET };
      try {
        const signature = await eth.request({
          method: "personal_sign",
          params: [utf8ToHex(message), address],
        });
        if (typeof signature !== "string" || !signature.startsWith("0x")) {
          return { ok: false, code: "failed", error: "The wallet returned no signature" };
        }
        return { ok: true, value: signature };
      } catch (error) {
        return failure(error, "Signature request rejected in your wallet", "The wallet could not sign");
      }
    },

    // Sign the server's sign-in message, then hand it to the API ourselves: the response sets the
    // HttpOnly session cookie, and with cookie_only the token is in no body this page can read.
    async signIn(apiBase, message, address) {
      const signed = await this.sign(message, address);
      if (!signed.ok) return signed;
      let response;
      try {
        response = await fetch(apiBase + "/api/v1/auth/verify", {
          method: "POST",
          credentials: "include",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ message: message, signature: signed.value, cookie_only: true }),
        });
      } catch (error) {
        return { ok: false, code: "failed", error: "The server could not be reached to sign in" };
      }
      let body = null;
      try {
        body = await response.json();
      } catch (error) {
        body = null;
      }
      if (response.ok) return { ok: true, value: body && body.address };
      return { ok: false, code: "refused", error: detailOf(body) || "The server refused the sign-in" };
    },

    // Revoke the session and clear the HttpOnly cookie, which page scripts cannot do themselves.
    async signOut(apiBase) {
      try {
        const response = await fetch(apiBase + "/api/v1/auth/logout", { method: "POST", credentials: "include" });
        return response.ok ? { ok: true, value: null } : { ok: false, code: "refused", error: "Sign-out failed" };
      } catch (error) {
        return { ok: false, code: "failed", error: "The server could not be reached to sign out" };
      }
    },

    // The chain the wallet is on, as eth_chainId gives it ("0xa4b1"): typed data must name that chain.
    async chainId() {
      const eth = provider();
      if (!eth) return { ok: false, code: "no_wallet", error: NO_WALLET };
      try {
        const chainId = await eth.request({ method: "eth_chainId" });
        if (chainId === null || chainId === undefined || chainId === "") {
          return { ok: false, code: "failed", error: "The wallet did not say which chain it is on" };
        }
        return { ok: true, value: String(chainId) };
      } catch (error) {
        return failure(error, "Request rejected in your wallet", "The wallet did not say which chain it is on");
      }
    },

    // EIP-712 typed data (a JSON string, as eth_signTypedData_v4 takes it), signed by `address`.
    async signTypedData(address, typedDataJson) {
      const eth = provider();
      if (!eth) return { ok: false, code: "no_wallet", error: NO_WALLET };
      try {
        const signature = await eth.request({
          method: "eth_signTypedData_v4",
          params: [address, typedDataJson],
        });
        if (typeof signature !== "string" || !signature.startsWith("0x")) {
          return { ok: false, code: "failed", error: "The wallet returned no signature" };
        }
        return { ok: true, value: signature };
      } catch (error) {
        return failure(error, "Signature request rejected in your wallet", "The wallet could not sign");
      }
    },
  };
  window.dispatchEvent(new Event("maxxit-wallet-ready"));
})();
