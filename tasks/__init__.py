"""Huey tasks: thin wrappers that open a session, call one backend service, and retry what is temporary."""
