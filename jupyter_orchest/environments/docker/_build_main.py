"""Runs a build's script inside its container: `python3 _build_main.py VARIABLES SCRIPT`.

Sets the variables in the JSON file VARIABLES (CA bundle, pip configuration, proxies), then
becomes `bash SCRIPT`. The variables reach the script without being part of the container's
configuration, which the committed image would otherwise keep (proxy credentials included).
The script's stderr goes to its stdout: one stream keeps the order in which it wrote (Docker
may deliver two streams' output in another order), so a failure's last lines are its last.
Run by the image's own Python, whichever version: standard library only, nothing recent.
"""

import json
import os
import sys


def main() -> None:
    variables_file, script = sys.argv[1], sys.argv[2]
    with open(variables_file) as file:
        os.environ.update(json.load(file))
    sys.stdout.flush()
    os.dup2(1, 2)
    os.execvp("bash", ["bash", script])


if __name__ == "__main__":
    main()
