"""Residents: array-backed cohort state and Mesa agent views onto it."""

from .cohort import CONDITIONS, FRAILTY_LABELS, SMOKING_LABELS, Cohort

__all__ = ["CONDITIONS", "FRAILTY_LABELS", "SMOKING_LABELS", "Cohort"]
