"""What every sink is: set up once, then given batches of outputs to write."""

import abc
from collections.abc import Sequence

from pydantic import BaseModel


class Sink(abc.ABC):
    """A destination for riskstream's outputs.

    ``setup()`` connects and prepares; ``write(batch)`` writes a batch of outputs and
    returns once they are safely handed over (or buffered for a retry by the sink itself).
    Writing the same output twice must have the effect of writing it once.
    """

    async def setup(self) -> None:  # noqa: B027 - most sinks need no set-up
        """Connect and prepare; called once before the first write."""

    @abc.abstractmethod
    async def write(self, batch: Sequence[BaseModel]) -> None:
        """Write a batch of outputs."""

    async def close(self) -> None:  # noqa: B027
        """Flush what is pending and release connections."""
