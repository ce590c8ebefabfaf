"""The ``nnfit`` command's argparse manners: help wrapped to the terminal with examples kept as
written, and every usage error one line with one prefix, pointing to the command's help."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from typing import NoReturn

from ..checks import shown
from ..safetext import closest, printable

PROG = "nnfit"


class HelpFormatter(argparse.HelpFormatter):
    """Wraps each prose paragraph of a description or epilog to the terminal's width; a
    paragraph with indented lines (examples) is kept line for line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith(" ") for line in lines):
                paragraphs.append("\n".join(indent + line for line in lines))
            else:
                paragraphs.append(
                    textwrap.fill(
                        " ".join(paragraph.split()),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                        break_on_hyphens=False,
                    )
                )
        return "\n\n".join(paragraphs)


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line, ``nnfit: error: ... (see nnfit fit
    --help)``, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {printable(message)} (see {self.prog} --help)\n")


def command_parser(parser: argparse.ArgumentParser, command: str | None) -> Parser:
    """The parser of a subcommand (``fit``), or ``parser`` itself for None or an unknown one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            found: Parser = action.choices[command]
            return found
    assert isinstance(parser, Parser)
    return parser


def command_names(parser: argparse.ArgumentParser) -> list[str]:
    """The subcommands' names."""
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]


def unknown(parser: argparse.ArgumentParser, extra: Sequence[str]) -> str:
    """The usage error for arguments ``parser`` does not take: ``unknown flag --hiden; did you
    mean --hidden?``, or ``unexpected argument 'x'``."""
    flags = [name for action in parser._actions for name in action.option_strings]
    for arg in extra:
        if arg.startswith("-") and arg != "-" and not arg[1:2].isdigit():
            name = arg.partition("=")[0]
            # compared without the dashes, which every flag shares: --bogus is not like --out
            near = closest(name.lstrip("-"), [f[2:] for f in flags if f.startswith("--")])
            hint = f"; did you mean --{near}?" if near else ""
            return f"unknown flag {printable(name)}{hint}"
    return f"unexpected argument {shown(extra[0])}"


def unknown_command(parser: argparse.ArgumentParser, word: str) -> str:
    """``unknown command 'fitt'; did you mean fit?``, listing the commands otherwise."""
    names = command_names(parser)
    near = closest(word, names)
    hint = f"did you mean {near}?" if near else f"commands are: {', '.join(names)}"
    return f"unknown command {shown(word)}; {hint}"
