"""Find files of the steering repo's `shared/` folder (SPEC data, vectors), which live outside this clone.

Looked for, in order: `$GIFTPLANS_SHARED/<relative>`, then `<ancestor>/shared/<relative>`
walking up from this file, then `/work/shared/<relative>`. A missing file is an error for
the caller to turn into a failing test, never a silent skip.
"""

from __future__ import annotations

import os
from pathlib import Path


def candidates(relative: str) -> list[Path]:
    found: list[Path] = []
    env = os.environ.get("GIFTPLANS_SHARED")
    if env:
        found.append(Path(env) / relative)
    found += [folder / "shared" / relative for folder in Path(__file__).resolve().parents]
    found.append(Path("/work/shared") / relative)
    return found


def shared_file(relative: str) -> Path:
    """The path of `shared/<relative>`; FileNotFoundError (listing where it looked) when absent."""
    paths = candidates(relative)
    for path in paths:
        if path.is_file():
            return path
    raise FileNotFoundError(f"shared/{relative} not found; looked in: " + ", ".join(str(p) for p in paths))
