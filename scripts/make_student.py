"""Write learner copies of the lessons: outputs cleared, each ``solution`` cell replaced by a stub.

Run: ``python scripts/make_student.py notebooks student`` (``make student``). The student copies open the
repository by the same relative path, so ``student/`` sits beside ``notebooks/``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

STUB = "# Your answer here: compute the value the exercise asks for, then run the check below.\n"


def studentize(notebook):
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        if "solution" in cell.metadata.get("tags", []):
            # Solutions end by assigning the learner's answer to a variable named answer_*; keep that name.
            names = re.findall(r"^(answer\w*)\s*=", cell.source, flags=re.M)
            answer = names[-1] if names else "answer"
            cell.source = STUB + f"{answer} = ...\n"
            cell.metadata["tags"] = [t for t in cell.metadata["tags"] if t != "solution"] + ["exercise"]
            cell.metadata.get("jupyter", {}).pop("source_hidden", None)
    return notebook


def main(source: str, target: str) -> None:
    out = Path(target)
    out.mkdir(exist_ok=True)
    for path in sorted(Path(source).glob("[0-9]*.ipynb")):
        notebook = studentize(nbformat.read(path, as_version=4))
        tmp = out / f".{path.name}.tmp"
        nbformat.write(notebook, tmp)
        tmp.replace(out / path.name)
        print(f"wrote {out / path.name}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
