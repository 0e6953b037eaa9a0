import argparse
import os
import sys

from todo.service import TodoService
from todo.storage import JsonFileStorage, StorageError


def build_parser():
    parser = argparse.ArgumentParser(prog="todo")
    parser.add_argument("--db", default=os.environ.get("TODO_DB", "todo.json"))
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a task")
    add.add_argument("title")
    listing = commands.add_parser("list", help="show tasks")
    listing.add_argument("--pending", action="store_true", help="only tasks not done")
    for name in ("done", "remove"):
        command = commands.add_parser(name, help=f"{name} a task")
        command.add_argument("id", type=int)
    return parser


def run(service, args):
    if args.command == "add":
        task = service.add(args.title)
        print(f"added {task.id}: {task.title}")
    elif args.command == "list":
        tasks = service.list(pending_only=args.pending)
        for task in tasks:
            mark = "x" if task.done else " "
            print(f"[{mark}] {task.id} {task.title}")
        if not tasks:
            print("no tasks")
    elif args.command == "done":
        task = service.complete(args.id)
        print(f"done {task.id}: {task.title}")
    elif args.command == "remove":
        task = service.remove(args.id)
        print(f"removed {task.id}: {task.title}")


def main(argv=None):
    args = build_parser().parse_args(argv)
    service = TodoService(JsonFileStorage(args.db))
    try:
        run(service, args)
    except KeyError as err:
        print(f"error: no task {err.args[0]}", file=sys.stderr)
        return 1
    except (ValueError, StorageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
