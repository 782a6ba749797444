#!/usr/bin/env bash
# The main job: install, then run every example DAG end to end on the built-in simulated cluster.
# Pass --real to run them on the cluster of the kubernetes_default connection / your kubeconfig instead.
source "$(dirname "$0")/_env.sh"
airflow-flink demo "$@"
