#!/usr/bin/env bash
# The main job: install, then render the example SQL pipeline to the manifests that would be applied.
source "$(dirname "$0")/_env.sh"
airflow-flink render examples/orders_pipeline.py "$@"
