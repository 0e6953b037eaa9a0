from decimal import Decimal


class InsufficientFunds(Exception):
    """The account balance is lower than the amount to withdraw."""


class AccountFrozen(Exception):
    """No money may leave or enter a frozen account."""


class Account:
    def __init__(self, account_id, balance="0", frozen=False):
        self.id = account_id
        self.balance = Decimal(balance)
        self.frozen = frozen

    def withdraw(self, amount):
        if self.frozen:
            raise AccountFrozen(self.id)
        if amount > self.balance:
            raise InsufficientFunds(self.id)
        self.balance -= amount

    def deposit(self, amount):
        if self.frozen:
            raise AccountFrozen(self.id)
        self.balance += amount
