"""Example DAGs: one per job kind and one per real workflow. ``airflow-flink demo`` runs them all
against the built-in simulated cluster, or against the cluster ``kubernetes_default`` points at.

A DAG file may define ``SIMULATION = {resource_name: {trait: value}}``: traits the simulated
operator gives those resources (e.g. a bounded job finishing). They are ignored on real clusters.
"""
