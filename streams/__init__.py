"""riskstream's stream processing, one subpackage per part:

- `streams.engine`: the pure core, one customer's record plus one event in, its outputs out;
  the backtester and the workers run the same code. No faust, aiokafka or redis.
- `streams.worker`: the Faust app of a worker, made of small parts, and its query API.
- `streams.backtest`: history replayed through the engine, to files or topics, with a report.
- `streams.cli`: the ``riskstream`` command, the demo and the event generator.
- `streams.kafka`: the topics riskstream uses, and reading a one-partition topic whole.
- `streams.settings`: the settings every part reads, from ``RISKSTREAM_*`` variables.
"""
