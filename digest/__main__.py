"""`python -m digest` runs the command-line tool."""

from digest.cli import main

main()
