"""What a process loads: the engine, and a backtest from files, bring in no I/O library."""

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IO_LIBRARIES = ("faust", "aiokafka", "redis", "mode")

IMPORT_ALL = """
import importlib, pkgutil
import streams.engine
for module in pkgutil.walk_packages(streams.engine.__path__, "streams.engine."):
    importlib.import_module(module.name)
"""


def loaded_by(code: str, *args: object) -> set[str]:
    """The top-level packages a process of its own has loaded once it has run ``code`` (with
    ``args`` as its arguments), even if ``code`` exits: this one has imported the worker."""
    script = (f"import sys\ntry:\n{textwrap.indent(code.strip(), '    ')}\nfinally:\n"
              "    print(*sorted({name.partition('.')[0] for name in sys.modules}))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())


def io_libraries_loaded_by(code: str, *args: object) -> list[str]:
    return sorted(loaded_by(code, *args) & set(IO_LIBRARIES))


def test_the_engine_imports_no_faust_aiokafka_redis_or_mode():
    loaded = loaded_by(IMPORT_ALL)
    assert "streams" in loaded
    assert not loaded & set(IO_LIBRARIES), sorted(loaded & set(IO_LIBRARIES))
