"""Reusable UI pieces: layout, display formatting, tables and chart builders."""
