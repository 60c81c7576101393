"""Measuring: running the model over all p² inputs and every intervention the report reads."""
