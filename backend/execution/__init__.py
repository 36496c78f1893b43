"""Execution: size a signal's trade for each deployment and open it exactly once."""
