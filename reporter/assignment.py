"""The optimal assignment of rows to columns of a square cost matrix: how compare matches heads across runs."""

from __future__ import annotations

import itertools

import numpy as np


def assignment(cost: np.ndarray) -> list[int]:
    """The column for each row that minimises the total cost (square ``cost``; exact, by the Hungarian
    method for more than 8 rows, by trying every permutation below)."""
    n = cost.shape[0]
    if n <= 8:
        best = min(itertools.permutations(range(n)), key=lambda perm: (sum(cost[i, perm[i]] for i in range(n)), perm))
        return list(best)
    return hungarian(cost)


def hungarian(cost: np.ndarray) -> list[int]:
    """Kuhn-Munkres with potentials, O(n³): the optimal assignment of rows to columns."""
    n = cost.shape[0]
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    match, way = np.zeros(n + 1, dtype=int), np.zeros(n + 1, dtype=int)
    for row in range(1, n + 1):
        match[0], column = row, 0
        low, used = np.full(n + 1, np.inf), np.zeros(n + 1, dtype=bool)
        while True:
            used[column] = True
            i, delta, nxt = match[column], np.inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    reduced = cost[i - 1, j - 1] - u[i] - v[j]
                    if reduced < low[j]:
                        low[j], way[j] = reduced, column
                    if low[j] < delta:
                        delta, nxt = low[j], j
            for j in range(n + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    low[j] -= delta
            column = nxt
            if match[column] == 0:
                break
        while column:
            previous = way[column]
            match[column], column = match[previous], previous
    result = [0] * n
    for j in range(1, n + 1):
        result[match[j] - 1] = j - 1
    return result
