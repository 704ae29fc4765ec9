"""memviz: see how an agent's memories are written, linked, decayed and recalled."""

__version__ = "0.1.0"
