"""Shell completion for ``gallery``: ``gallery completion bash|zsh`` prints a script that asks
``gallery __complete`` for the words that fit, so verbs added later complete with no new script.

Verbs complete from the command table; after a verb, its options and sub-verbs are read from
its own ``--help`` (argparse's), so they stay true to what the verb accepts.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Callable
from typing import Any

COMPLETE = "__complete"

BASH = r"""# gallery completion for bash: eval "$(gallery completion bash)" (e.g. in ~/.bashrc)
_gallery_complete() {
    local IFS=$'\n'
    COMPREPLY=($(gallery __complete "$COMP_CWORD" "${COMP_WORDS[@]:1}" 2>/dev/null))
}
complete -o default -F _gallery_complete gallery
"""

ZSH = r"""#compdef gallery
# gallery completion for zsh: eval "$(gallery completion zsh)" after compinit (e.g. in ~/.zshrc)
_gallery() {
    local -a items
    items=("${(@f)$(gallery __complete $((CURRENT - 1)) "${(@)words[2,-1]}" 2>/dev/null)}")
    compadd -a items
}
if (( $+functions[compdef] )); then compdef _gallery gallery; fi
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH}
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_CHOICES = re.compile(r"\{([\w,-]+)\}")


def script(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SCRIPTS:
        print("usage: gallery completion bash|zsh", file=sys.stderr)
        return 2
    sys.stdout.write(SCRIPTS[argv[0]])
    return 0


def complete(
    argv: list[str],
    commands: dict[str, tuple[Callable[[list[str]], int], str]],
    server: dict[str, Any],
) -> int:
    """``__complete CWORD WORD…``: the candidates for word number CWORD (1 = the verb)."""
    try:
        current = int(argv[0])
    except (IndexError, ValueError):
        return 2
    words = argv[1:]
    prefix = words[current - 1] if 0 < current <= len(words) else ""
    if current <= 1:
        candidates = [*commands, *server, "completion", "--help", "--version"]
    elif words[0] == "completion":
        candidates = list(SCRIPTS)
    else:
        verb = words[0]
        run: Callable[[list[str]], int] | None = None
        if verb in commands:
            run = commands[verb][0]
        elif verb in server:
            run = server[verb].load()
        if run is None:
            return 0
        # the sub-verb's own options once one is given (``whitelist add …``)
        before = [w for w in words[1 : current - 1] if not w.startswith("-")][:1]
        candidates = _from_help(run, before) or _from_help(run, [])
    for candidate in sorted(set(candidates)):
        if candidate.startswith(prefix):
            print(candidate)
    return 0


def _from_help(run: Callable[[list[str]], int], before: list[str]) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            run([*before, "--help"])
        except SystemExit:
            pass
        except Exception:
            return []
    text = out.getvalue()
    found = _OPTION.findall(text)
    for group in _CHOICES.findall(text):
        found += group.split(",")
    return [word for word in found if word not in ("-h",)]
