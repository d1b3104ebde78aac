"""The notebook file format, read and written without nbformat, as nbformat does."""

import json
from pathlib import Path

import nbformat

from jupyter_orchest.engine.executors import ipynb


def test_a_notebook_is_laid_out_as_nbformat_writes_it(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata["orig_nbformat"] = 3  # only ever in memory
    code = nbformat.v4.new_code_cell("a = 1\nb = 2\n")  # type: ignore[no-untyped-call]
    code.metadata["trusted"] = True
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="one\ntwo\n"),  # type: ignore[no-untyped-call]
        nbformat.v4.new_output(  # type: ignore[no-untyped-call]
            "display_data",
            data={"text/plain": "x\ny", "application/json": {"a": [1]}, "image/png": "iVBO\n"},
        ),
    ]
    notebook.cells = [code, nbformat.v4.new_markdown_cell("# Title\n\ntext")]  # type: ignore[no-untyped-call]
    # Written with every multi-line string in one piece, as some tools write them.
    path = tmp_path / "tool.ipynb"
    path.write_text(json.dumps(notebook))
    expected = nbformat.writes(nbformat.reads(path.read_text(), as_version=4)) + "\n"  # type: ignore[no-untyped-call]
    assert ipynb.dumps(ipynb.load(path)) == expected


def test_stream_text_overwrites_as_a_terminal_does() -> None:
    text = ipynb.StreamText()
    for piece in ("Downloading\n", "  0%\r", " 50%\r", "100%\n", "done\r", "\n", "tail"):
        text.append(piece)
    assert str(text) == "Downloading\n100%\ndone\ntail"
    assert ipynb.apply_carriage_returns("abcdef\rxy\n") == "xycdef\n"
