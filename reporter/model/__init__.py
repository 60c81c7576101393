"""The model: the task, a model built from its config, checkpoints, the training recipe and loop, the forwards."""
