"""Detectors: what in a customer's state or events calls for an alert, a score or a decision."""

from detectors.alerts import transition_alerts

__all__ = ["transition_alerts"]
