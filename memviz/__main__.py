"""``python -m memviz``: the ``memviz`` command line (what an MCP client's configuration can start)."""

from memviz.cli import main

main(prog_name="memviz")
