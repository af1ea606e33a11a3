"""Read MLFORM_DATA_TRAIN and MLFORM_PARAMS, write a model to MLFORM_OUTPUT_DIR and
{"loss": ...} to MLFORM_METRICS_FILE (modules/sweep/example has a complete one)."""
