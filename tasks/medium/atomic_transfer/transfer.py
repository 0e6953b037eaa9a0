from decimal import Decimal


def transfer(ledger, source, target, amount):
    """Move amount from source to target and record it in the ledger."""
    amount = Decimal(str(amount))
    ledger.record(source.id, target.id, amount)
    source.withdraw(amount)
    target.deposit(amount)
