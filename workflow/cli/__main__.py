"""``python -m workflow.cli``: the same as ``ocop``."""

from workflow.cli import main

main()
