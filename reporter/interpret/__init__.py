"""Interpreting: statistics, labels, roles and findings from the measurements (numbers only; no model runs)."""
