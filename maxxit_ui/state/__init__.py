"""Flat rx.State subclasses, one per page; they call backend services and hold display-ready rows."""
