"""Starting a worker process: topics first, then the Faust worker with the riskstream app."""

import asyncio
import logging

import faust

from streams.app import RiskApp
from streams.settings import Settings
from streams.topics import ensure_topics


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run until stopped (SIGINT or SIGTERM); state survives in the data directory."""
    asyncio.run(ensure_topics(settings))
    asyncio.set_event_loop(asyncio.new_event_loop())
    risk = RiskApp(settings)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    faust.Worker(risk.faust, loglevel=loglevel).execute_from_commandline()
