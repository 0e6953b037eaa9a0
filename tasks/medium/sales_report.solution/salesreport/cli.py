import argparse
import sys

from salesreport.loader import load_sales
from salesreport.summary import group_totals, total


def main(argv=None):
    parser = argparse.ArgumentParser(prog="salesreport")
    parser.add_argument("csv_file", help="sales CSV with date,region,product,amount")
    parser.add_argument("--group-by", choices=["date", "region", "product"])
    args = parser.parse_args(argv)
    rows = load_sales(args.csv_file)
    if args.group_by:
        for group, amount in group_totals(rows, args.group_by).items():
            print(f"{group} {amount:.2f}")
    print(f"TOTAL {total(rows):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
