"""The command line: thin Typer commands over the library, rendered with Rich. Only here: typer, rich."""
