"""The ``riskstream`` command (`streams.cli.commands`), the demo and the event generator."""
