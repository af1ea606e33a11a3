import json
import os

params = json.loads(os.environ["MLFORM_PARAMS"])
print("training with", params)
