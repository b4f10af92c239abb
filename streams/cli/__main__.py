"""``python -m streams.cli``: the ``riskstream`` command."""

from streams.cli.commands import app

app(prog_name="riskstream")
