from decimal import Decimal


def total(rows):
    """Sum of the amounts of rows, as a Decimal."""
    return sum((row["amount"] for row in rows), Decimal("0"))


def group_totals(rows, column):
    """Map each distinct value of column to the total amount of its rows."""
    groups = {}
    for row in rows:
        key = row[column]
        groups[key] = groups.get(key, Decimal("0")) + row["amount"]
    return dict(sorted(groups.items()))
