"""Write a stand-in "model" (its version and answer) and a stand-in accuracy, from MLFORM_PARAMS."""

import json
import os

params = json.loads(os.environ["MLFORM_PARAMS"])
with open(os.path.join(os.environ["MLFORM_OUTPUT_DIR"], "model.json"), "w") as f:
    json.dump({"version": params["version"], "answer": params["answer"]}, f)
with open(os.environ["MLFORM_METRICS_FILE"], "w") as f:
    json.dump({"accuracy": params["accuracy"]}, f)
