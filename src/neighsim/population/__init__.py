"""Population synthesis: real LSOA data -> residents, households, neighbourhoods and social ties."""

from .synth import Population, build_population

__all__ = ["Population", "build_population"]
