"""mlform's local provider: the five portable kinds on this machine.

Datasets become content-addressed snapshots under `.mlform/store`, environments virtual
environments under `.mlform/envs`, the cluster is this host, training jobs are supervised
subprocesses and deployments supervised server processes. See `mlform_local.provider`.
"""

__version__ = "0.1.0"
