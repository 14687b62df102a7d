"""Delete old log files, only under directories listed in REMEDIATION_LOG_DIRS.

Symlinks are never followed or deleted, and every candidate must resolve inside the
allowlisted directory, so a crafted label or link cannot point the cleaner elsewhere.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from app.response.remediation.base import (
    Action,
    ActionContext,
    ActionFailed,
    ActionParams,
    Plan,
    Step,
)


class DeleteLogsParams(ActionParams):
    older_than_days: float = Field(default=7, gt=0)
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.*", "*.gz"])
    max_files: int = Field(default=1000, ge=1)


def allowed_dir(ctx: ActionContext, target: str) -> Path:
    wanted = Path(target).resolve()
    for root in ctx.settings.REMEDIATION_LOG_DIRS:
        if root.resolve() == wanted:
            return wanted
    raise ActionFailed(f"{target} is not in REMEDIATION_LOG_DIRS")


def old_files(root: Path, params: DeleteLogsParams, now: float) -> list[Path]:
    cutoff = now - params.older_than_days * 86400
    found: list[Path] = []
    for pattern in params.patterns:
        for path in root.rglob(pattern):
            if path.is_symlink() or not path.is_file():
                continue
            if root not in path.resolve().parents:
                continue
            if path.stat().st_mtime < cutoff and path not in found:
                found.append(path)
    return sorted(found)


class DeleteOldLogs(Action):
    name = "delete_old_logs"
    params_model: ClassVar[type[ActionParams]] = DeleteLogsParams
    target_kind = "logdir"

    def _scan(self, ctx: ActionContext, plan: Plan) -> list[Path]:
        params = plan.params
        assert isinstance(params, DeleteLogsParams)  # type narrowing  # nosec B101
        return old_files(allowed_dir(ctx, plan.target), params, time.time())

    async def inspect(self, ctx: ActionContext, plan: Plan) -> Step:
        params = plan.params
        assert isinstance(params, DeleteLogsParams)  # type narrowing  # nosec B101
        files = await asyncio.to_thread(self._scan, ctx, plan)
        chosen = files[: params.max_files]
        size = sum(f.stat().st_size for f in chosen)
        return Step(
            from_=len(files),
            to=len(files) - len(chosen),
            detail={"files": len(chosen), "bytes": size},
            noop=not files,
        )

    async def apply(self, ctx: ActionContext, plan: Plan, step: Step) -> None:
        def delete() -> int:
            params = plan.params
            assert isinstance(params, DeleteLogsParams)  # type narrowing  # nosec B101
            removed = 0
            for path in self._scan(ctx, plan)[: params.max_files]:
                try:
                    os.unlink(path)
                    removed += 1
                except FileNotFoundError:
                    continue
            return removed

        step.detail["deleted"] = await asyncio.to_thread(delete)

    async def verify(self, ctx: ActionContext, plan: Plan, step: Step) -> bool:
        return len(await asyncio.to_thread(self._scan, ctx, plan)) <= int(step.to)
