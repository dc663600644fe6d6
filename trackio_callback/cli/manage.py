"""``trackio-callback runs delete|rename|move`` and ``projects delete``: each asks first, unless ``--yes``;
``runs tag`` and ``runs note`` (nothing is lost: they do not ask).

    trackio-callback runs delete PROJECT RUN [--yes]
    trackio-callback runs rename PROJECT RUN NEW_NAME [--yes]
    trackio-callback runs move PROJECT RUN NEW_PROJECT [--yes]
    trackio-callback runs tag PROJECT RUN [--add TAG ...] [--remove TAG ...] [--clear]
    trackio-callback runs note PROJECT RUN TEXT          (TEXT "-": read from stdin; "": clear the notes)
    trackio-callback projects delete PROJECT [--yes]

The question goes to stderr and the answer is read from stdin: ``y`` or ``yes`` goes on, anything else
(an empty line, end of input) cancels with exit status 1. The work is the library's (`management.operations`).
"""

from __future__ import annotations

import argparse
import sys

from ..management import operations
from ..store.reader import Reader

CANCELLED = 1  # the exit status of a command the user did not confirm


def _ask(args: argparse.Namespace, question: str) -> bool:
    """Whether to go on: ``--yes``, or ``y``/``yes`` typed on stdin."""
    if args.yes:
        return True
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return operations.confirmed(sys.stdin.readline())


def _cancelled() -> int:
    sys.stderr.write("trackio-callback: cancelled, nothing changed\n")
    return CANCELLED


def _check_run(args: argparse.Namespace) -> None:
    """The project and run exist (asked about only then): `ProjectNotFoundError` / `RunNotFoundError` otherwise."""
    with operations.open_project(args.project, args.dir) as store:
        operations.find_run(store, args.project, args.run)


def cmd_runs(args: argparse.Namespace, reader: Reader) -> int:
    _check_run(args)
    where = f"run {args.run!r} of project {args.project!r}"
    if args.action == "delete":
        if not _ask(args, f"Delete {where} and all its data? (Hub datasets lose its files at their next sync)"):
            return _cancelled()
        row = operations.delete_run(args.project, args.run, directory=args.dir)
        sys.stdout.write(f"deleted {where} (uid {row.uid})\n")
    elif args.action == "rename":
        if not _ask(args, f"Rename {where} to {args.target!r}?"):
            return _cancelled()
        operations.rename_run(args.project, args.run, args.target, directory=args.dir)
        sys.stdout.write(f"renamed {where} to {args.target!r}\n")
    else:
        if not _ask(args, f"Move {where} to project {args.target!r}?"):
            return _cancelled()
        row = operations.move_run(args.project, args.run, args.target, directory=args.dir)
        sys.stdout.write(f"moved {where} to project {args.target!r} (uid {row.uid})\n")
    return 0


def cmd_annotate(args: argparse.Namespace, reader: Reader) -> int:
    """``runs tag`` and ``runs note``: validated like every writer (`store.tags`), printed back as stored."""
    where = f"run {args.run!r} of project {args.project!r}"
    if args.action == "tag":
        if not (args.add or args.remove or args.clear):
            row = reader.run(args.project, args.run)  # nothing to change: show them
            sys.stdout.write(f"{where} tags: {', '.join(row['tags']) or '-'}\n")
            return 0
        cleared = [] if args.clear else None
        tags = operations.edit_run_tags(
            args.project, args.run, tags=cleared, add=args.add, remove=args.remove, directory=args.dir
        ).tags
        sys.stdout.write(f"{where} tags: {', '.join(tags) or '-'}\n")
    else:
        notes = sys.stdin.read() if args.text == "-" else args.text
        row = operations.set_run_notes(args.project, args.run, notes, directory=args.dir)
        sys.stdout.write(f"{where} notes: {len(row.notes)} characters\n" if row.notes else f"{where} notes cleared\n")
    return 0


def cmd_projects(args: argparse.Namespace, reader: Reader) -> int:
    with operations.open_project(args.project, args.dir) as store:
        count = len(store.runs())
    question = (
        f"Delete project {args.project!r} ({count} runs) and its files in {reader.dir}? "
        f"(Hub datasets keep what was synced)"
    )
    if not _ask(args, question):
        return _cancelled()
    removed = operations.delete_project(args.project, directory=args.dir)
    sys.stdout.write(f"deleted project {args.project!r}: {', '.join(path.name for path in removed)}\n")
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``runs`` and ``projects`` to the parser's commands."""
    runs = commands.add_parser(
        "runs", help="delete, rename or move a run (asks first unless --yes); tag or annotate it"
    )
    actions = runs.add_subparsers(dest="action", required=True)
    for action, target, help_text in (
        ("delete", None, "delete a run and all its data (its Hub files go at the next sync)"),
        ("rename", "new_name", "rename a run"),
        ("move", "new_project", "move a run to another project (created if missing)"),
    ):
        parser = actions.add_parser(action, help=help_text)
        parser.add_argument("project")
        parser.add_argument("run")
        if target is not None:
            parser.add_argument("target", metavar=target.upper())
        parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
        parser.set_defaults(handler=cmd_runs)
    tagging = actions.add_parser("tag", help="add or remove a run's tags (no option: print them)")
    tagging.add_argument("project")
    tagging.add_argument("run")
    tagging.add_argument("--add", nargs="+", default=[], metavar="TAG", help="tags to add")
    tagging.add_argument("--remove", nargs="+", default=[], metavar="TAG", help="tags to take off")
    tagging.add_argument("--clear", action="store_true", help="take every tag off first")
    tagging.set_defaults(handler=cmd_annotate)
    noting = actions.add_parser("note", help="set a run's notes")
    noting.add_argument("project")
    noting.add_argument("run")
    noting.add_argument("text", metavar="TEXT", help='the notes ("-": read them from stdin; "": clear them)')
    noting.set_defaults(handler=cmd_annotate)

    projects = commands.add_parser("projects", help="delete a project (asks first unless --yes)")
    actions = projects.add_subparsers(dest="action", required=True)
    deleting = actions.add_parser("delete", help="delete a project's file and its files folder (local only)")
    deleting.add_argument("project")
    deleting.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    deleting.set_defaults(handler=cmd_projects)
