"""Train on MLFORM_DATA_TRAIN with the parameters in MLFORM_PARAMS; write the model to
MLFORM_OUTPUT_DIR and the accuracy to MLFORM_METRICS_FILE. (The quickstart has a complete one.)"""
