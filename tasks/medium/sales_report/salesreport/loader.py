import csv
from decimal import Decimal


def load_sales(path):
    """Read a sales CSV (columns: date, region, product, amount) into dicts.

    The amount of each row is converted to a Decimal.
    """
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["amount"] = Decimal(row["amount"])
    return rows
