from decimal import Decimal

import pytest

from accounts import Account, AccountFrozen, InsufficientFunds
from ledger import Ledger, LedgerClosed
from transfer import transfer


def setup(source_balance="100", target_balance="50"):
    return Ledger(), Account("A", source_balance), Account("B", target_balance)


def balances(*accounts):
    return [a.balance for a in accounts]


@pytest.mark.parametrize("amount", [30, "30", Decimal("30"), "30.00", 30.0])
def test_successful_transfer(amount):
    ledger, a, b = setup()
    transfer(ledger, a, b, amount)
    assert balances(a, b) == [Decimal("70"), Decimal("80")]
    assert ledger.entries == [("A", "B", Decimal("30"))]


def test_cents_and_float_amounts():
    ledger, a, b = setup()
    transfer(ledger, a, b, "10.5")
    transfer(ledger, a, b, 0.1)
    assert balances(a, b) == [Decimal("89.40"), Decimal("60.60")]
    assert [entry[2] for entry in ledger.entries] == [Decimal("10.5"), Decimal("0.1")]
    assert all(isinstance(entry[2], Decimal) for entry in ledger.entries)


def test_whole_balance_can_be_moved():
    ledger, a, b = setup()
    transfer(ledger, a, b, 100)
    assert balances(a, b) == [Decimal("0"), Decimal("150")]


@pytest.mark.parametrize("amount", [0, -5, "-0.01", "0.00", "0.001", "1.005", "abc"])
def test_bad_amounts_raise_value_error(amount):
    ledger, a, b = setup()
    with pytest.raises(ValueError):
        transfer(ledger, a, b, amount)
    assert balances(a, b) == [Decimal("100"), Decimal("50")]
    assert ledger.entries == []


def test_self_transfer_rejected():
    ledger, a, _ = setup()
    with pytest.raises(ValueError):
        transfer(ledger, a, a, 10)
    assert a.balance == Decimal("100")
    assert ledger.entries == []


def test_insufficient_funds_changes_nothing():
    ledger, a, b = setup()
    with pytest.raises(InsufficientFunds):
        transfer(ledger, a, b, "100.01")
    assert balances(a, b) == [Decimal("100"), Decimal("50")]
    assert ledger.entries == []


@pytest.mark.parametrize("frozen", ["source", "target"])
def test_frozen_account_changes_nothing(frozen):
    ledger, a, b = setup()
    (a if frozen == "source" else b).frozen = True
    with pytest.raises(AccountFrozen):
        transfer(ledger, a, b, 10)
    assert balances(a, b) == [Decimal("100"), Decimal("50")]
    assert ledger.entries == []


def test_closed_ledger_changes_nothing():
    ledger, a, b = setup()
    ledger.closed = True
    with pytest.raises(LedgerClosed):
        transfer(ledger, a, b, 10)
    assert balances(a, b) == [Decimal("100"), Decimal("50")]
    assert ledger.entries == []


class FlakyTarget(Account):
    def deposit(self, amount):
        raise ConnectionError("bank B is offline")


class FlakyLedger(Ledger):
    def record(self, source_id, target_id, amount):
        raise OSError("disk full")


def test_unexpected_deposit_error_rolls_back():
    ledger, a = Ledger(), Account("A", "100")
    b = FlakyTarget("B", "50")
    with pytest.raises(ConnectionError):
        transfer(ledger, a, b, 10)
    assert balances(a, b) == [Decimal("100"), Decimal("50")]
    assert ledger.entries == []


def test_unexpected_ledger_error_rolls_back():
    ledger, a, b = FlakyLedger(), Account("A", "100"), Account("B", "50")
    with pytest.raises(OSError):
        transfer(ledger, a, b, 10)
    assert balances(a, b) == [Decimal("100"), Decimal("50")]
    assert ledger.entries == []


def test_accounts_and_ledger_unchanged():
    acc = Account("X", "5")
    with pytest.raises(InsufficientFunds):
        acc.withdraw(Decimal("6"))
    acc.frozen = True
    with pytest.raises(AccountFrozen):
        acc.deposit(Decimal("1"))
    ledger = Ledger()
    ledger.record("X", "Y", Decimal("1"))
    assert ledger.entries == [("X", "Y", Decimal("1"))]
