"""LocalFiles (deprecated in Kestra, still in real flows): create files in the working directory,
or store files from it. Meant for a WorkingDirectory, where the next tasks see the files.

`inputs`: file name → content or a kestra:// URI (fetched); `outputs`: globs of files to store,
given back as the output `outputFiles` (name → URI), as in Kestra's own example.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from kflow.flow.task import RunnableTask

if TYPE_CHECKING:
    from kflow.runner.context import RunContext


class LocalFiles(RunnableTask):
    inputs: dict[str, str] | str | None = Field(None, description="Files to create: name → content or kestra:// URI (or its JSON).")
    outputs: list[str] | None = Field(None, description="Globs of files of the working directory to store.")

    def run(self, ctx: RunContext) -> dict[str, Any]:
        from kflow.tasks.scripts import glob_files, store_files, write_input_files

        workdir = Path(ctx.workdir)
        write_input_files(ctx, workdir, self.inputs, what="inputs")
        return {"outputFiles": store_files(ctx, glob_files(workdir, self.outputs, what="outputs"))}
