"""`python -m canary.cli` runs the CLI (used by tests and when the console script is not on PATH)."""

from canary.cli import main

main()
