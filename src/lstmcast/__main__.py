"""Entry point for `python -m lstmcast`."""

from lstmcast.cli.app import main

main()
