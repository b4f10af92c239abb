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
    if settings.uses_development_key:
        logging.getLogger(__name__).warning(
            "model snapshots are signed with the built-in development key "
            "(RISKSTREAM_DEVELOPMENT): set RISKSTREAM_MODEL_KEY anywhere else"
        )
    faust.Worker(risk.faust, loglevel=loglevel).execute_from_commandline()
