#!/usr/bin/env bash
# A shell step: it runs after the summary and records when the pipeline last finished.
set -euo pipefail
echo "quickstart pipeline finished at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
