"""`kflow completion bash|zsh`: the shell completion script, generated from the parser by shtab.

Subcommands, options and choices come from the argparse parser, so a new subcommand is completed
without touching this file. Arguments naming an Execution or a Flow carry `.complete =
EXECUTIONS` / `FLOWS` where they are declared: their names come from the cluster (`kflow get
... -o name`, in the namespace given by `-n` on the same line).
"""

from __future__ import annotations

import argparse
import re
import sys

import shtab

PROG_ALIASES = ("kubectl-kflow",)  # the kubectl plugin runs the same CLI

# Names of a kind from the cluster, in the namespace given by -n on the line being completed
# (bash keeps the line's words in COMP_WORDS, zsh in words).
_NAMES = r"""
_kflow_names() {
    local kind="$1" ns="" i
    for ((i = 1; i < ${#WORDS[@]}; i++)); do
        case "${WORDS[i]}" in -n|--namespace) ns="--namespace=${WORDS[i+1]}" ;; esac
    done
    kflow get "$kind" -o name $ns 2>/dev/null | sed 's|^[^/]*/||'
}
"""
_PREAMBLE = {
    "bash": _NAMES.replace("WORDS", "COMP_WORDS") + r"""
_kflow_complete_executions() { compgen -W "$(_kflow_names executions)" -- "$1"; }
_kflow_complete_flows() { compgen -W "$(_kflow_names flows)" -- "$1"; }
_kflow_complete_kinds() { compgen -W "executions execution flows flow" -- "$1"; }
""",
    "zsh": _NAMES.replace("WORDS", "words") + r"""
_kflow_complete_executions() { compadd -- ${(f)"$(_kflow_names executions)"}; }
_kflow_complete_flows() { compadd -- ${(f)"$(_kflow_names flows)"}; }
""",
}

EXECUTIONS = {"bash": "_kflow_complete_executions", "zsh": "_kflow_complete_executions"}
FLOWS = {"bash": "_kflow_complete_flows", "zsh": "_kflow_complete_flows"}
KINDS = {"bash": "_kflow_complete_kinds", "zsh": "(executions execution flows flow)"}  # not the short kex/kfl


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "completion", help="print a shell completion script",
        description="Print a completion script. bash: `source <(kflow completion bash)`; "
        "zsh: `source <(kflow completion zsh)` (or save it as _kflow in your $fpath).",
    )
    parser.add_argument("shell", choices=("bash", "zsh"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(script(args.parser, args.shell))
    return 0


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """shtab's script for `kflow`, also registered for the kubectl plugin's name."""
    text = shtab.complete(parser, shell=shell, preamble=_PREAMBLE[shell]).rstrip("\n") + "\n"
    names = " ".join((parser.prog, *PROG_ALIASES))
    if shell == "bash":
        return re.sub(r"^(complete .*-F _shtab_kflow) kflow$", rf"\1 {names}", text, flags=re.M)
    text = text.replace("#compdef kflow\n", f"#compdef {names}\n", 1)
    # shtab registers the function only under `eval`; `source <(...)` must register it too,
    # and only an autoloaded _kflow (from $fpath) calls it directly.
    return text.replace(
        "if [[ $zsh_eval_context[-1] == eval ]]; then\n  # eval/source/. command, register function for later\n"
        "  compdef _shtab_kflow -N kflow\n",
        "if [[ $zsh_eval_context[-1] != loadautofunc ]]; then\n  # eval/source/. command, register function for later\n"
        "  (( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }\n"
        f"  compdef _shtab_kflow -N {names}\n",
    )
