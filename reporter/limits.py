"""How much memory a job will take, checked before anything is allocated.

A modulus or a shape that the machine cannot hold is refused with the number, in one
sentence, instead of a crash (or minutes of swapping) half-way through.
"""

from __future__ import annotations

import os
from pathlib import Path

BUDGET_SHARE = 0.5  # modreport allows itself at most half of the machine's memory
GB = 2**30


class ResourceError(ValueError):
    """A job too large for this machine; the message is one sentence with the numbers."""


def machine_memory() -> int:
    """Physical memory of this machine, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(needed: int, what: str) -> None:
    """Refuse a job that needs more than the budget; ``what`` says what the bytes are for."""
    total = machine_memory()
    if needed > BUDGET_SHARE * total:
        raise ResourceError(
            f"{what} needs about {needed / GB:.1f} GB, more than the {BUDGET_SHARE * total / GB:.1f} GB "
            f"(half of this machine's {total / GB:.0f} GB) modreport allows itself."
        )


def parameter_count(
    n_layers: int, d_model: int, n_heads: int, d_head: int, d_mlp: int, d_vocab: int, d_vocab_out: int, n_ctx: int
) -> int:
    """Weights of a transformer of this shape (attention, MLP, embeddings; norms are negligible)."""
    attention = 4 * d_model * n_heads * d_head
    mlp = 2 * d_model * d_mlp
    return n_layers * (attention + mlp) + d_model * (d_vocab + d_vocab_out + n_ctx)


def training_bytes(modulus: int, parameters: int, batch_size: int, n_layers: int, d_model: int, d_mlp: int) -> int:
    """Training: every input's tokens and answer, the weights with their gradients and two Adam moments,
    and one batch's activations (float32)."""
    inputs = modulus**2 * (4 * 8 + 8)
    activations = batch_size * 4 * n_layers * (12 * d_model + 2 * d_mlp) * 4
    return inputs + 16 * parameters + 4 * activations


def batch_for(d_model: int, d_mlp: int, d_vocab_out: int, largest: int = 1024) -> int:
    """Inputs per forward pass so that one pass's float64 activations stay near 256 MB, and at most ``largest``:
    a larger batch is slower, not faster (each operation's output then no longer fits the CPU's cache, and
    moving it costs more than the arithmetic; benchmarks/README.md)."""
    per_input = 4 * (8 * d_model + 2 * d_mlp + d_vocab_out) * 8
    return max(16, min(largest, (256 * 2**20) // per_input))


def analysis_bytes(modulus: int, n_layers: int, n_heads: int, d_model: int) -> int:
    """The analysis, float64: the clean activations it captures over all inputs (each layer's input, keys
    and values at every position, queries and z at `=`, the logits), the attention from `=` and its
    per-head copies, what each layer's input and each head's write carry, and the Fourier transforms of
    the logits over (a, b, answer), which hold about ten p × p × p arrays at their peak."""
    inputs = modulus**2
    captured = inputs * (n_layers * 4 * d_model * 3 + 4 * d_model + 2 * n_layers * d_model + modulus) * 8
    attention = inputs * n_layers * n_heads * 4 * 8 * 3
    content = inputs * n_layers * (4 + n_heads) * d_model * 8
    fourier = modulus**3 * 80
    return captured + attention + content + fourier


def check_bytes(modulus: int, d_model: int) -> int:
    """`modreport check`: every input's tokens, and the logits and residuals of one forward pass over them."""
    return modulus**2 * (4 * 8 + 8 * (modulus + 4 * d_model * 4))


class FileShapeError(ValueError):
    """A file that is not a regular file, or larger than what it may hold; the message is one sentence."""


def read_bounded(path, limit: int, what: str, follow: bool = True, folder: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, opened once and checked before any byte is read: a device
    (/dev/zero), a FIFO, a sparse or a growing file neither hangs nor fills the memory. ``follow=False``
    refuses a symbolic link as the last part of the path (for files modreport wrote itself); ``folder``, an
    open folder's descriptor, reads ``path`` inside that folder even if its name now means another one."""
    import stat

    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        descriptor = os.open(path, flags, dir_fd=folder)
    except OSError as error:
        if error.errno == 40:  # ELOOP: the link O_NOFOLLOW refused
            raise FileShapeError(f"{path} is a symbolic link, which {what} never is.") from None
        raise
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise FileShapeError(f"{path} is not a regular file, so it cannot be {what}.")
        if info.st_size > limit:
            raise FileShapeError(f"{path} is larger than {what} can be ({info.st_size} bytes; at most {limit}).")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileShapeError(f"{path} is larger than {what} can be (at most {limit} bytes).")
    return data


NAME_MAX, PATH_MAX = 255, 4096  # bytes: the longest name and path Linux file systems hold


def path_problem(path: Path) -> str | None:
    """Why the file system cannot hold ``path`` (a name or the whole path too long), or None."""
    whole = len(os.fsencode(os.path.abspath(path)))
    if whole >= PATH_MAX:
        return f"is {whole} bytes long once made absolute; a path can be at most {PATH_MAX - 1}"
    for part in Path(path).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            return f"has a name of {len(os.fsencode(part))} bytes; a file system holds names of at most {NAME_MAX}"
    return None
