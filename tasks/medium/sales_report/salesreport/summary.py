from decimal import Decimal


def total(rows):
    """Sum of the amounts of rows, as a Decimal."""
    return sum((row["amount"] for row in rows), Decimal("0"))
