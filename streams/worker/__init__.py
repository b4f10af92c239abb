"""A riskstream worker: the Faust app, made of one part per concern, and its query API.

`streams.worker.app.RiskApp` composes the parts; `streams.worker.run.run_worker` runs it.
"""
