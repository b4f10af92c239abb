"""``riskstream backtest``: sources of history, importers, outlets for the outputs, the report.

`streams.backtest.backtest` runs it all.
"""
