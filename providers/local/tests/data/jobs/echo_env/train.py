"""Records what mlform gave it, writes a deterministic model and metrics."""

import json
import os
import sys
from pathlib import Path

out = Path(os.environ["MLFORM_OUTPUT_DIR"])
data = Path(os.environ["MLFORM_DATA_TRAIN"])
rows = (data / "rows.csv").read_text().splitlines()
params = json.loads(os.environ["MLFORM_PARAMS"])
print(f"read {len(rows)} rows, c={params.get('c')}", flush=True)
print("to stderr", file=sys.stderr, flush=True)
seen = {
    k: os.environ.get(k)
    for k in (
        "MLFORM_PARAMS",
        "MLFORM_PARAM_C",
        "MLFORM_PARAM_NAME",
        "MLFORM_SEED",
        "PYTHONHASHSEED",
        "VIRTUAL_ENV",
        "CUDA_VISIBLE_DEVICES",
        "MLFORM_DATA_TRAIN",
        "GREETING",
    )
}
seen["executable"] = sys.executable
seen["cwd"] = os.getcwd()
seen["cwd_files"] = sorted(os.listdir("."))
Path(os.environ["MLFORM_METRICS_FILE"]).write_text(json.dumps({"accuracy": 0.5, "rows": len(rows)}))
(out / "model.txt").write_text(
    f"rows={len(rows)} c={params.get('c')} seed={os.environ.get('MLFORM_SEED')}\n"
)
(out / "sub").mkdir()
(out / "sub" / "weights.bin").write_bytes(bytes(range(256)))
# Report what the job saw where the test can find it after the run folder is cleaned.
Path(os.environ["MLFORM_PARAM_SEEN_FILE"]).write_text(json.dumps(seen))
