"""The confined-space permit's rules, one module per area (see :mod:`permits.commands`)."""
