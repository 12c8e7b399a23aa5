"""The users command: `python -m accidents.users {list,add,remove,passwd,role} ...`.

Passwords are read from the terminal (asked twice), or from standard input with
`--password-stdin` for scripts. The store is `ACCIDENTS_USERS_DB_URL` (default: var/users.db).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from accidents.logs import setup_logging
from accidents.settings import get_settings
from accidents.users.passwords import PasswordPolicyError
from accidents.users.startup import open_store
from accidents.users.store import ROLES, UserError, UserStore


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise UserError("the two passwords differ")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m accidents.users", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the users and their roles")
    add = commands.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="user")
    add.add_argument("--password-stdin", action="store_true")
    remove = commands.add_parser("remove", help="remove a user")
    remove.add_argument("username")
    passwd = commands.add_parser("passwd", help="change a user's password")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    role = commands.add_parser("role", help="change a user's role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    return parser


def run(arguments: argparse.Namespace, store: UserStore) -> str:
    """Carry out one command; return what to tell the person."""
    if arguments.command == "list":
        return "\n".join(f"{user.username}\t{user.role}" for user in store.list())
    if arguments.command == "add":
        user = store.add(arguments.username, _read_password(arguments.password_stdin),
                         arguments.role)
        return f"added {user.username} ({user.role})"
    if arguments.command == "remove":
        store.remove(arguments.username)
        return (f"removed {arguments.username}; the service refuses its tokens within "
                "ACCIDENTS_USER_CACHE_SECONDS (default 5 s)")
    if arguments.command == "passwd":
        store.set_password(arguments.username, _read_password(arguments.password_stdin))
        return f"changed the password of {arguments.username}"
    store.set_role(arguments.username, arguments.role)
    return f"{arguments.username} is now {arguments.role}"


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    setup_logging("WARNING")
    try:
        message = run(arguments, open_store(get_settings()))
    except (UserError, PasswordPolicyError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    if message:
        sys.stdout.write(message + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
