"""mlform's AWS provider and S3 state backend.

Nothing here imports boto3 at import time: the provider and the backend import it inside the
functions that talk to AWS, so that `mlform version` and runs that use no AWS stay fast.
"""

__version__ = "0.1.0"
