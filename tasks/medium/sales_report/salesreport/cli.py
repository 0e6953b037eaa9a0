import argparse
import sys

from salesreport.loader import load_sales
from salesreport.summary import total


def main(argv=None):
    parser = argparse.ArgumentParser(prog="salesreport")
    parser.add_argument("csv_file", help="sales CSV with date,region,product,amount")
    args = parser.parse_args(argv)
    rows = load_sales(args.csv_file)
    print(f"TOTAL {total(rows):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
