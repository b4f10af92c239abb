"""The base of configuration models that never change once made (rule packs, scorecards).

What such a model derives from its fields it may keep with `functools.cached_property`: a
copy made with other fields (``model_copy(update=...)``) derives it afresh.

>>> from functools import cached_property
>>> class Doubled(Frozen):
...     value: int
...     @cached_property
...     def doubled(self) -> int:
...         return 2 * self.value
>>> one = Doubled(value=1)
>>> one.doubled, one.model_copy(update={"value": 5}).doubled
(2, 10)
"""

from functools import cached_property
from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """A model that cannot change and refuses fields it does not know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        for klass in type(self).__mro__:
            for name, attribute in vars(klass).items():
                if isinstance(attribute, cached_property):
                    copy.__dict__.pop(name, None)
        return copy
