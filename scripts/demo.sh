#!/usr/bin/env bash
# The main job: install, then run every example DAG end to end on the built-in simulated cluster. Where a JDK 11+
# is found, _env.sh installs the Flink 1.20 distribution and the jar, SQL, Python and upgrade examples' jobs run on
# a real local Flink (--flink simulated keeps them all simulated).
# Pass --real to run them on the cluster of the kubernetes_default connection / your kubeconfig instead.
source "$(dirname "$0")/_env.sh"
airflow-flink demo "$@"
