"""Monthly processes of the step plan; each computes hazards and draws events with its own stream."""
