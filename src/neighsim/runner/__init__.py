"""Running tasks (scenario x replicate x neighbourhood) serially or on Ray, streaming results to disk."""
