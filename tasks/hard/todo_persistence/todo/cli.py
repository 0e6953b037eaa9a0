import argparse
import sys

from todo.service import TodoService
from todo.storage import MemoryStorage


def build_parser():
    parser = argparse.ArgumentParser(prog="todo")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a task")
    add.add_argument("title")
    commands.add_parser("list", help="show tasks")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    service = TodoService(MemoryStorage())
    if args.command == "add":
        task = service.add(args.title)
        print(f"added {task.id}: {task.title}")
    elif args.command == "list":
        for task in service.list():
            mark = "x" if task.done else " "
            print(f"[{mark}] {task.id} {task.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
