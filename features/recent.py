"""A bounded memory of recent ids: the newest are kept, the oldest forgotten."""

from collections.abc import Iterable, Iterator


class RecentIds:
    """An insertion-ordered set that keeps at most ``capacity`` ids (the same on each add).

    >>> recent = RecentIds()
    >>> for event_id in ("e1", "e2", "e3"):
    ...     recent.add(event_id, capacity=2)
    >>> "e1" in recent, list(recent)
    (False, ['e2', 'e3'])
    """

    __slots__ = ("_ids",)

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids = dict.fromkeys(ids)

    def add(self, item: str, capacity: int) -> None:
        ids = self._ids
        ids[item] = None
        if len(ids) > capacity:
            del ids[next(iter(ids))]

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
