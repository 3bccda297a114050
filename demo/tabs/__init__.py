"""One module per tab; each has a ``build(studio, shared)`` that lays out its components and wires events."""
