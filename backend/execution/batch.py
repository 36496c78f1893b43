"""Signals for chunks of deployments: the fan-out at the speed of the database.

The same steps as `Executor.execute`, each done once for a whole chunk of (signal, deployment) pairs instead
of once per pair (see `paper_chunk`):
1. claim: every execution row inserted (or its attempt counted) in one statement, committed;
2. decide: state skips, opposite positions, balances and sizes for the chunk from a handful of queries;
3. send: one paper venue transaction fills every order (each still its own client order id);
4. record: positions, trade fees, audit rows and the executions' outcomes in one transaction.
Exactly-once holds as before: the claim rows are unique, the paper venue refuses a client order id twice, a
retry first asks the venue which of the chunk's orders already filled and records those, and the record step
re-reads the executions under lock, so a duplicate run of the chunk records nothing twice.

A chunk may mix signals (one post's call makes a signal for every agent that follows its author): they are
executed together, so 20 agents with 10 deployments each cost a few chunks, not 20. Pairs that are not
single-venue paper (live venues, MULTI routing) each run the one-deployment path, `EXECUTION_CONCURRENCY` at a
time on a bounded thread pool with a session each: venue calls overlap, each its own exactly-once execution.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from backend.db import among
from backend.execution.paper_chunk import Item, PaperChunk
from backend.models import Agent, AgentDeployment, Signal
from backend.venues.base import TemporaryVenueError
from backend.venues.capabilities import keeps_own_books

if TYPE_CHECKING:
    from backend.execution.service import ExecutionOutcome, Executor
    from backend.venues.paper import PaperVenue

logger = logging.getLogger(__name__)

Pair = tuple[int, int]  # (signal id, deployment id)


@dataclass
class ChunkResult:
    """Each pair's outcome; `retry` holds the pairs a venue asked to try again later, with why."""

    outcomes: dict[Pair, ExecutionOutcome] = field(default_factory=dict)
    retry: dict[Pair, str] = field(default_factory=dict)

    def by_deployment(self) -> ChunkResult:
        """The same, keyed by deployment id alone (a chunk of one signal)."""
        return ChunkResult(
            {d: o for (_, d), o in self.outcomes.items()},  # type: ignore[misc]
            {d: r for (_, d), r in self.retry.items()},  # type: ignore[misc]
        )


def execute_pairs(executor: Executor, session: Session, pairs: Sequence[Pair]) -> ChunkResult:
    """Open each (signal, deployment) pair's trade once: paper ones batched, the others on a bounded pool."""
    pairs = list(dict.fromkeys(pairs))
    signals = _by_id(session, Signal, {s for s, _ in pairs})
    deployments = _by_id(session, AgentDeployment, {d for _, d in pairs})
    strangers = [
        (s, d)
        for s, d in pairs
        if s not in signals or d not in deployments or deployments[d].agent_id != signals[s].agent_id
    ]
    if strangers:
        raise LookupError(f"no deployments of the signals' agents for {strangers}")
    agents = _by_id(session, Agent, {s.agent_id for s in signals.values()})
    paper = _paper_adapter(executor)
    batch = [p for p in pairs if paper is not None and _batchable(deployments[p[1]])]
    batched = set(batch)
    others = [p for p in pairs if p not in batched]
    result = ChunkResult()
    pool = _start_pool(executor, session, others)
    try:
        for round_ in _rounds(batch):
            items = [Item(signals[s], agents[signals[s].agent_id], deployments[d]) for s, d in round_]
            chunk = PaperChunk(executor, paper, session, items)
            chunk.run()
            result.outcomes.update(chunk.outcomes)
            result.retry.update(chunk.retry)
    finally:
        _collect_pool(pool, result)
    return result


def _rounds(pairs: list[Pair]) -> list[list[Pair]]:
    """At most one order per account in a venue batch: a deployment's second signal waits for the next round,
    so it is sized on the balance its first trade left, as one at a time would."""
    rounds: list[list[Pair]] = []
    seen: dict[int, int] = {}
    for signal_id, deployment_id in pairs:
        index = seen.get(deployment_id, -1) + 1
        seen[deployment_id] = index
        if index == len(rounds):
            rounds.append([])
        rounds[index].append((signal_id, deployment_id))
    return rounds


def _by_id(session: Session, model: type, ids: set[int]) -> dict:
    if not ids:
        return {}
    return {row.id: row for row in session.exec(select(model).where(among(col(model.id), ids)))}


def _paper_adapter(executor: Executor) -> PaperVenue | None:
    """The platform's own book, when this executor has one that opens a chunk at once."""
    for venue in executor.venues.names:
        adapter = executor.venues.get(venue)
        if adapter.capabilities.books_per_deployment and hasattr(adapter, "open_many"):
            return adapter
    return None


def _batchable(deployment: AgentDeployment) -> bool:
    """Single-venue paper deployments: no routing, no agent wallet, one venue transaction for them all."""
    return keeps_own_books([deployment.venue]) and not deployment.venue_preferences


def _start_pool(
    executor: Executor, session: Session, pairs: list[Pair]
) -> tuple[ThreadPoolExecutor, dict[Pair, Future]] | None:
    if not pairs:
        return None
    engine = session.get_bind()

    def one(pair: Pair) -> ExecutionOutcome:
        with Session(engine, expire_on_commit=False) as own:
            return executor.execute(own, *pair)

    workers = max(1, min(executor.concurrency, len(pairs)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="execute")
    return pool, {pair: pool.submit(one, pair) for pair in pairs}


def _collect_pool(started: tuple[ThreadPoolExecutor, dict[Pair, Future]] | None, result: ChunkResult) -> None:
    if started is None:
        return
    pool, futures = started
    failure: BaseException | None = None
    try:
        for pair, future in futures.items():
            try:
                result.outcomes[pair] = future.result()
            except TemporaryVenueError as error:
                result.retry[pair] = error.reason
            except Exception as error:  # the others still finish; the first failure is raised after
                logger.exception("execution of signal %s for deployment %s failed", *pair)
                failure = failure or error
    finally:
        pool.shutdown(wait=True)
    if failure is not None:
        raise failure
