"""One money quantum for the whole codebase: fees, PnL and billing lines are kept to a millionth of a USD.

USDC has six decimals, so a millionth is the smallest amount that can actually move; cents are for screens.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MONEY_QUANTUM = Decimal("0.000001")
CENT = Decimal("0.01")
BPS = Decimal("0.0001")
ZERO = Decimal(0)


def money(amount: Decimal) -> Decimal:
    """`amount` to the money quantum, half to even (banker's rounding: no drift over many fills)."""
    return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def cents(amount: Decimal) -> Decimal:
    """`amount` to the cent, for figures shown or cached for the marketplace."""
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
