"""The form of a step's `output_files` patterns (see `engine.output_patterns` for what they do):
gitignore patterns relative to the project folder, or starting with `/data/` (the data folder)
or `/project-dir/` (the project folder), as steps see those folders in Orchest."""

ROOT_PREFIXES = {"/data/": "data", "/project-dir/": "project"}


def pattern_problem(pattern: str) -> str | None:
    """Why a declared pattern cannot be used (words that follow "which"), or None."""
    bare = pattern[1:] if pattern.startswith("!") else pattern
    if not bare.strip():
        return "is empty"
    if bare.startswith("/") and not any(bare.startswith(p) for p in ROOT_PREFIXES):
        return (
            "is absolute: write it relative to the project folder, or start it with /data/ "
            "for the data folder"
        )
    if ".." in bare.replace("\\", "/").split("/"):
        return "uses '..': patterns cannot leave the project or data folder"
    return None
