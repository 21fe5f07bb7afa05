"""Running tasks (scenario x replicate x neighbourhood) serially or on Ray, streaming results to disk."""

BACKENDS = ("processes", "serial", "ray")  # where tasks run (backends.py); the default first
