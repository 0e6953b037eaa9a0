import csv
import sys
from decimal import Decimal, InvalidOperation


def load_sales(path):
    """Read a sales CSV (columns: date, region, product, amount) into dicts.

    The amount of each row is converted to a Decimal. Rows with an empty or
    non-numeric amount are skipped with a warning on stderr.
    """
    rows = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:
            try:
                amount = Decimal(row["amount"])
                if not amount.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, TypeError):
                print(f"skipping line {reader.line_num}: bad amount", file=sys.stderr)
                continue
            row["amount"] = amount
            rows.append(row)
    return rows
