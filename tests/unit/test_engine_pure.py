"""The engine is pure: importing every module of `streams.engine` brings in no I/O library."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IO_LIBRARIES = ("faust", "aiokafka", "redis", "mode")

IMPORT_ALL = """
import importlib, pkgutil, sys
import streams.engine
for module in pkgutil.walk_packages(streams.engine.__path__, "streams.engine."):
    importlib.import_module(module.name)
print(" ".join(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_the_engine_imports_no_faust_aiokafka_redis_or_mode():
    # A process of its own: this one has imported the worker already.
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=REPO, capture_output=True,
                          text=True, check=True)  # fmt: skip
    loaded = set(done.stdout.split())
    assert "streams" in loaded
    assert not loaded & set(IO_LIBRARIES), sorted(loaded & set(IO_LIBRARIES))
