"""Demo data for the embedded mode: realistic agents whose figures come from simulated trading."""
