class LedgerClosed(Exception):
    """The ledger no longer accepts entries."""


class Ledger:
    """Append-only record of transfers."""

    def __init__(self):
        self.entries = []
        self.closed = False

    def record(self, source_id, target_id, amount):
        if self.closed:
            raise LedgerClosed()
        self.entries.append((source_id, target_id, amount))
