"""Starting a worker process: the Faust worker with the riskstream app."""

import asyncio
import gc
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
    collect_garbage_seldom()
    faust.Worker(risk.faust, loglevel=loglevel).execute_from_commandline()


YOUNG_GENERATION = 20_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""


def collect_garbage_seldom() -> None:
    """Leave what start-up made out of every collection, and collect the young seldom.

    An event allocates hundreds of short-lived objects that reference counting frees; with
    Python's default threshold the collector ran every few events and walked the whole heap
    (modules, models, tables) at every full collection. Measured in ``bench_worker``: see
    docs/benchmarks.md.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, 10, 10)
