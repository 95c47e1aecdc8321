"""Cold-start figures: each handler's import time against `import boto3`'s, and the asset's size.

Each import is timed in a fresh interpreter, the modules interleaved run by run, so a burst of
load on a shared machine falls on all of them alike; the median of the runs is reported.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from typing import Any

from infra import names
from localcloud.deploy import CloudAssembly

IMPORT_RUNS = 5
HANDLERS = [names.handler_path(name).rpartition(".")[0] for name in (*names.ALL_FUNCTIONS, names.REQUEST_VERIFICATION)]
"""Every function's handler module, the one a stack that waits for pharmacists adds included."""


def _import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def import_times(runs: int = IMPORT_RUNS) -> dict[str, Any]:
    """Median seconds to import boto3 and each handler in a fresh interpreter, interleaved run by run."""
    samples: dict[str, list[float]] = {m: [] for m in ["boto3", *HANDLERS]}
    for _ in range(runs):
        for module in samples:
            samples[module].append(_import_seconds(module))
    boto3 = statistics.median(samples["boto3"])
    handlers = {m.rpartition(".")[2]: statistics.median(samples[m]) for m in HANDLERS}
    return {
        "runs": runs,
        "boto3_seconds": round(boto3, 4),
        "handler_seconds": {k: round(v, 4) for k, v in handlers.items()},
        "worst_ratio_to_boto3": round(max(handlers.values()) / boto3, 2),
        "budget_ratio": 1.5,
    }


def asset_size(assembly: CloudAssembly) -> dict[str, Any]:
    folder = next(
        assembly.directory / asset["source"]["path"]
        for asset in assembly.assets["files"].values()
        if asset["source"].get("packaging") == "zip"
    )
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"files": len(files), "megabytes": round(sum(p.stat().st_size for p in files) / 1e6, 1)}
