"""Population synthesis: real LSOA data -> residents, households, neighbourhoods and social ties."""

from .synth import Population, UnknownNeighbourhoods, build_population

__all__ = ["Population", "UnknownNeighbourhoods", "build_population"]
