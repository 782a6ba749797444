"""A simulated Kubernetes cluster with a simulated Flink Kubernetes Operator, for tests.

- :class:`SimulatedCluster` — the API emulator plus the simulated operator, with helpers;
- :class:`KubeApiEmulator` — the API server alone (real HTTP on 127.0.0.1, fault knobs);
- :class:`SimulatedFlinkOperator` — the operator alone, against any API server; :class:`SimTimings` sets how
  fast it moves, :class:`ResourceTraits` the faults and traits ``behave()`` gives one resource;
- the ``flink_cluster`` pytest fixture.
"""

from airflow_flink_operator.testing.apiserver import KubeApiEmulator
from airflow_flink_operator.testing.cluster import SimulatedCluster
from airflow_flink_operator.testing.operator import ResourceTraits, SimTimings, SimulatedFlinkOperator

__all__ = ["KubeApiEmulator", "ResourceTraits", "SimTimings", "SimulatedCluster", "SimulatedFlinkOperator"]
