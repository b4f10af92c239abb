"""A bounded memory of recent ids: the newest are kept, the oldest forgotten."""

from collections.abc import Iterable, Iterator, Mapping

from features.copying import copy_with


class RecentIds:
    """An insertion-ordered set that keeps at most ``capacity`` ids (the same on each add),
    each with an optional note (say, a digest of what the id named).

    >>> recent = RecentIds()
    >>> for event_id in ("e1", "e2", "e3"):
    ...     recent.add(event_id, capacity=2, note=event_id.upper())
    >>> "e1" in recent, list(recent), recent.note("e3")
    (False, ['e2', 'e3'], 'E3')
    >>> RecentIds(recent.notes()).notes() == recent.notes()
    True
    """

    __slots__ = ("_ids",)

    def __init__(self, ids: Iterable[str] | Mapping[str, str | None] = ()) -> None:
        self._ids: dict[str, str | None] = (
            dict(ids) if isinstance(ids, Mapping) else dict.fromkeys(ids)
        )

    def add(self, item: str, capacity: int, note: str | None = None) -> None:
        ids = self._ids
        ids[item] = note
        if len(ids) > capacity:
            del ids[next(iter(ids))]

    def note(self, item: str) -> str | None:
        """The note kept with ``item``, None if none (or if it is not kept)."""
        return self._ids.get(item)

    def copy(self) -> "RecentIds":
        return copy_with(self, _ids=self._ids.copy())

    def notes(self) -> dict[str, str | None]:
        """Every id kept with its note, oldest first."""
        return dict(self._ids)

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
