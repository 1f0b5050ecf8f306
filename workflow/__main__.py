"""``python -m workflow``: the same as ``ocop``."""

from workflow.cli import main

main()
