// Maxxit's bridge to the browser wallet (any EIP-1193 provider at window.ethereum: MetaMask, Rabby, ...).
//
// Every call resolves, never rejects: {ok: true, value} or {ok: false, code, error}, so the Reflex
// handler that receives the result always runs and can show the reason. Codes: "no_wallet",
// "rejected" (the user declined in the wallet, EIP-1193 code 4001), "failed" (anything else).
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
})();
