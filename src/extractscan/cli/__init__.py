"""The ``extractscan`` command line: a thin shell over the library API.

Each command lives in its own module of this package and defines ``register(app)``; every module is
discovered here, so adding a command is adding one file (plus its entry in docs/guide.md).
Exit codes: 0 ok, 1 error, 2 usage, 3 findings (``--fail-above``).
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="extractscan",
    help="Find LLM distillation (intelligence-extraction) campaigns in API logs, offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    app()
