import sys

from greet import greet


if __name__ == "__main__":
    greet(*sys.argv[1:2])
