"""Fails on its first attempt, succeeds on the next (the counter lives outside the run folder)."""

import os
import sys
from pathlib import Path

counter = Path(os.environ["MLFORM_PARAM_COUNTER"])
n = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(n + 1))
if n == 0:
    print("first attempt fails", flush=True)
    sys.exit(1)
Path(os.environ["MLFORM_OUTPUT_DIR"], "model.txt").write_text("ok\n")
print("second attempt succeeds", flush=True)
