import os
import sys

from . import cli

code = cli.main()
if cli._EVENTS is not None:
    # Started by QGIS, which removes our temporary folder: skip the interpreter's teardown (torch, worker threads),
    # seconds that a cancel or a finished run would otherwise keep the user waiting.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
