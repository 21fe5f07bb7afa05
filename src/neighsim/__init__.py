"""neighsim: a neighbourhood microsimulation of the residents of Staffordshire and Stoke-on-Trent."""

__version__ = "0.1.0"
