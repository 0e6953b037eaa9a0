from decimal import Decimal, InvalidOperation


def _parse_amount(amount):
    try:
        amount = Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"invalid amount: {amount!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError("amount must be greater than zero")
    if amount.as_tuple().exponent < -2:
        raise ValueError("amount must have at most two decimal places")
    return amount


def transfer(ledger, source, target, amount):
    """Move amount from source to target and record it in the ledger.

    All or nothing: if any step raises, balances and ledger are restored
    and the exception propagates.
    """
    amount = _parse_amount(amount)
    if source is target:
        raise ValueError("cannot transfer from an account to itself")
    source.withdraw(amount)
    try:
        target.deposit(amount)
    except BaseException:
        source.balance += amount
        raise
    try:
        ledger.record(source.id, target.id, amount)
    except BaseException:
        target.balance -= amount
        source.balance += amount
        raise
