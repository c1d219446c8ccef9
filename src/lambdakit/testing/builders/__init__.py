"""Builders of events shaped exactly as Lambda delivers them (one module per event source)."""
