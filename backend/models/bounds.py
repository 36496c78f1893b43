"""What the database can store, as validation types: an out-of-range number is a 422, never a driver error.

Primary keys are INTEGER (32-bit on PostgreSQL); BIGINT columns hold 64-bit values. SQLite would take
anything up to 64 bits and PostgreSQL raises on overflow, so the API checks before either sees it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MAX_ID = 2**31 - 1
MAX_BIGINT = 2**63 - 1

DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
BigInt = Annotated[int, Field(ge=0, le=MAX_BIGINT)]
