"""The customers' records of a worker: the state table, and the latest ones kept as objects."""

from collections.abc import Iterator, MutableMapping

from cachetools import LRUCache

from streams.engine import CustomerRecord


class Records:
    """The ``customer-state`` table (RocksDB, backed by a changelog topic) and a record cache.

    The cache keeps the latest records stored, as objects: a customer's next event need not
    decode its record again (nor replay its buffered events). It is forgotten when partitions
    move. ``cache_size`` 0 keeps none.
    """

    def __init__(self, table: MutableMapping[str, bytes], cache_size: int) -> None:
        self.table = table
        self.cache_size = cache_size
        self._cache: LRUCache[str, CustomerRecord] = LRUCache(max(cache_size, 1))

    def load(self, customer_id: str) -> CustomerRecord:
        """The customer's record as last stored, else a new one."""
        record = self._cache.get(customer_id)
        if record is not None:
            return record
        blob = self.table.get(customer_id)
        return CustomerRecord.from_bytes(blob) if blob else CustomerRecord.new(customer_id)

    def store(self, record: CustomerRecord) -> None:
        self.table[record.customer_id] = record.to_bytes()
        if self.cache_size:
            self._cache[record.customer_id] = record

    def stored(self, customer_id: str) -> CustomerRecord | None:
        """The customer's record as in the table, if it has one."""
        blob = self.table.get(customer_id)
        return CustomerRecord.from_bytes(blob) if blob else None

    def every(self) -> Iterator[tuple[str, CustomerRecord]]:
        """Every record in the table (of the partitions this worker has)."""
        for customer_id, blob in self.table.items():
            yield customer_id, CustomerRecord.from_bytes(blob)

    def forget(self) -> None:
        """Drop the cache: another worker may change these customers before they come back."""
        self._cache.clear()
