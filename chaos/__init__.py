"""``make chaos``: the whole system under load and faults, checked against an independent model."""
