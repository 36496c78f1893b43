"""Where posts come from before `backend.signals.ingest.store_posts` stores them once each.

- `x_api`: the X API v2 timelines of the followed accounts, polled since the last seen tweet, with the
  rate-limit reset remembered by the one client a worker keeps.
- `sample_feed`: the bundled JSONL feed, replayed as a deterministic trickle so `make run` shows a live
  pipeline without any credentials.

Both hand `RawPost`s to `store_posts` and return the ids of the new posts, which go on to the classifier.
(Operators' pasted posts take `ingest.store_manual_post` instead.) The two share nothing else, so there is
no common client protocol: a poll is a plain function of a session, its source and the time.
"""
