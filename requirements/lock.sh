#!/usr/bin/env bash
# Pin every dependency, with hashes, for every platform: requirements/main.txt (the server) and
# requirements/test.txt (the server and the test tools), from the ranges in pyproject.toml.
#   bash requirements/lock.sh            re-pin after pyproject.toml changed; keeps other pins
#   bash requirements/lock.sh --upgrade  take the newest releases the ranges allow
# Then run the README's test command: a new pin lands only with a green suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install -q "uv==0.13.8"
compile() {
    python3 -m uv pip compile pyproject.toml --universal --generate-hashes --python-version 3.11 \
        --quiet "$@"
}
compile --extra test --output-file requirements/test.txt "${@:1}"
# the server's pins are the test set's, so both install the same versions
compile --constraint requirements/test.txt --output-file requirements/main.txt
