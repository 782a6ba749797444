#!/usr/bin/env bash
# The whole test suite. Set FLINK_CRD_DIR to a folder of the operator's CRDs to run the schema tests.
source "$(dirname "$0")/_env.sh"
python -m pytest "$@"
