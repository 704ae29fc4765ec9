"""memviz: see how an agent's memories are written, linked, decayed and recalled."""

import os

# torch's OpenMP threads busy-wait after each forward pass by default; on a small machine that spinning
# takes the cores the next step needs (the recall's numpy search: 13 ms instead of 9 ms at 100k memories
# right after a query embedding; the keyword thread beside the encoder during ingest). Only takes effect
# when set before torch is first imported, which importing memviz first ensures; a user's setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
