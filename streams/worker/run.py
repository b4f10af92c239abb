"""Starting a worker process: the Faust worker with the riskstream app."""

import asyncio
import logging

import faust

from streams.settings import Settings
from streams.worker.app import RiskApp


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run until stopped (SIGINT or SIGTERM); state survives in the data directory.

    The topics must exist first, with their partition counts (`streams.kafka.topics.ensure_topics`).
    """
    asyncio.set_event_loop(asyncio.new_event_loop())
    risk = RiskApp(settings)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    faust.Worker(risk.faust, loglevel=loglevel).execute_from_commandline()
