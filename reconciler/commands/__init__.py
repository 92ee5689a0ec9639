"""The commands behind `reconciler`'s subcommands: cli.py parses, these do the work."""
