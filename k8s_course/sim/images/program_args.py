"""A pod program's settings as its real `main()` reads them, in the simulator.

The course's programs read their settings with argparse (and the environment). Run by the
simulated python image, argparse's usage and errors must go to the container's own stdout or
stderr, and its `SystemExit` must become the program's exit code, as in a real process.
"""

from __future__ import annotations

import contextlib
import io as io_module
from collections.abc import Callable


def settings_or_exit_code(settings_from: Callable, argv: list[str], env: dict, io, program: str):
    """`settings_from(argv[1:], env)`, or the exit code after argparse's or the program's complaint."""
    captured = io_module.StringIO()
    try:
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            return settings_from(list(argv[1:]), dict(env))
    except SystemExit as finished:
        code = finished.code if isinstance(finished.code, int) else 2
        (io.stdout if code == 0 else io.stderr).write(captured.getvalue())
        return code
    except ValueError as error:
        io.stderr.write(f"{program}: {error}\n")
        return 2
