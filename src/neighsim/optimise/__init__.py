"""Allocate a budget across neighbourhoods x interventions x capacity levels (`neighsim optimise`).

Response curves from simulation with common random numbers (curves.py), a mixed-integer programme solved
by HiGHS through scipy.optimize.milp (solver.py), simple rules to compare with (rules.py), and the files
written (outputs.py). Method and assumptions: docs/optimise.md.
"""

from .pipeline import Result, optimise
from .solver import OBJECTIVES, Equity, parse_budget, parse_equity, solve_allocation

__all__ = ["OBJECTIVES", "Equity", "Result", "optimise", "parse_budget", "parse_equity", "solve_allocation"]
