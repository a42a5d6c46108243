"""Sensors: the platform's watchers (object-store health, run failures)."""
