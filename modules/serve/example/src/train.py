"""Write a "model": the answer parameter, as JSON in MLFORM_OUTPUT_DIR."""

import json
import os

answer = json.loads(os.environ["MLFORM_PARAMS"])["answer"]
with open(os.path.join(os.environ["MLFORM_OUTPUT_DIR"], "model.json"), "w") as f:
    json.dump({"answer": answer}, f)
