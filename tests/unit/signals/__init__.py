"""Unit tests of the signal pipeline."""
