"""The command line's frame, apart from its commands: every failure becomes one line on stderr and an exit
code — bad input or usage 2 (`nuclass CMD: error: …`), Ctrl-C 130, an internal error 1 with a pointer to
`--debug` — and help that shows no type beside a flag. cli.py registers its commands through `command`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from nuclass.errors import Interrupted, NuclassError

try:  # typer ≥ 0.22 vendors click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover (older typer on click)
    from click.exceptions import ClickException, NoArgsIsHelpError

__all__ = ["CommandLine", "Command", "command", "failure_line", "DEBUG_HELP"]

DEBUG_HELP = "Show the full traceback of an internal error."
_state = {"debug": False}  # set by the app's --debug option, read when a command fails


def set_debug(debug: bool) -> None:
    _state["debug"] = debug


def _hide_flag_types(params: list) -> list:
    """Flags take no value: no `<bool>` beside them in --help (typer 0.29 prints their Python type)."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A command whose help shows no type beside a flag."""

    def get_params(self, ctx: Any) -> list:
        return _hide_flag_types(super().get_params(ctx))


class CommandLine(TyperGroup):
    """The `nuclass` group: a usage error (a bad or missing option, an out-of-range number) is one line
    `nuclass CMD: error: …` with exit code 2 instead of typer's framed box."""

    def get_params(self, ctx: Any) -> list:
        return _hide_flag_types(super().get_params(ctx))

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            # always "nuclass" (not `cli.py` under python -m, nor the test runner's name)
            code = super().main(args, "nuclass", complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError:  # the help has been shown
            code = NoArgsIsHelpError.exit_code
        except ClickException as exc:
            where = exc.ctx.command_path if getattr(exc, "ctx", None) else "nuclass"
            message = " ".join(exc.format_message().split())
            print(f"{where}: error: {message} (see {where} --help)", file=sys.stderr)
            code = exc.exit_code
        except typer.Abort:
            print("nuclass: aborted", file=sys.stderr)
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def failure_line(exc: BaseException) -> tuple[str, int]:
    """The one line a failure is shown as, and the exit code: 2 for what the user can fix (bad input, an
    OS error on a path, bad YAML), 1 for an internal error."""
    import yaml

    if isinstance(exc, NuclassError):
        return str(exc), 2
    if isinstance(exc, OSError) and (exc.filename or exc.strerror):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}", 2
    if isinstance(exc, yaml.YAMLError):
        return f"not valid YAML: {' '.join(str(exc).split())}", 2
    text = " ".join(str(exc).split())[:300]
    return f"internal error: {type(exc).__name__}{': ' + text if text else ''} (run with --debug for the " \
        "traceback)", 1


def command(app: typer.Typer) -> Callable:
    """A decorator registering a function as a command of `app`, named after it (a trailing _ dropped):
    every failure one line per error on stderr and its exit code (see failure_line), Ctrl-C exit 130."""

    def register(func: Callable) -> Callable:
        name = func.__name__.rstrip("_")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Interrupted as exc:
                print(f"nuclass {name}: {exc}", file=sys.stderr)
                raise typer.Exit(130) from None
            except KeyboardInterrupt:
                print(f"nuclass {name}: interrupted", file=sys.stderr)
                raise typer.Exit(130) from None
            except typer.Exit:
                raise
            except Exception as exc:
                line, code = failure_line(exc)
                if code == 1 and _state["debug"]:
                    raise
                for text in line.splitlines():  # ManyErrors: one line per error
                    print(f"nuclass {name}: error: {text}", file=sys.stderr)
                raise typer.Exit(code) from None

        return app.command(name=name, cls=Command)(wrapper)

    return register
