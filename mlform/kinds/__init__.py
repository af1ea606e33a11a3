"""The five portable ML kinds, defined once for every provider.

Each of `dataset`, `environment`, `cluster`, `training_job` and `deployment` has a module with its
`Args` model (what the user writes) and `Attrs` model (what a provider records); a provider's kind
class sets `args = <module>.Args` and `attrs = <module>.Attrs` and implements the operations.
Shared machinery: `digest` (tree digests and the stat cache), `fingerprint` (a training job's
inputs and how they changed), `store` (the content-addressed store on disk and the helpers that
turn ids into paths), `common` (digest strings, durations, sizes).
"""

PORTABLE_KINDS = ("dataset", "environment", "cluster", "training_job", "deployment")
