"""The model: the task, building it, checkpoints, the training recipe and loop, the forward engine and its edits."""
