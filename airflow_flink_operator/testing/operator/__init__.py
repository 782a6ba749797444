"""A simulated Flink Kubernetes Operator: reacts to Flink resources as the real one does.

It talks to the API only over HTTP with the official client, so the same simulation runs against
the emulator (:mod:`.apiserver`) and against a real kube-apiserver. What it mimics (see the
reference, sections c-e and h):

- FlinkDeployment: finalizer; validation errors written to ``status.error`` as the operator's
  ``FlinkResourceException`` JSON; CREATED → DEPLOYED → STABLE with the JobManager going
  DEPLOYING → DEPLOYED_NOT_READY → READY and the job RECONCILING → CREATED → RUNNING; bounded jobs
  FINISHED; spec changes through UPGRADING per upgrade mode (savepoint taken, ``upgradeSavepointPath``
  — a real path, or ``KUBERNETES_OPERATOR_LAST_STATE`` after a last-state deploy —,
  ``lastReconciledSpec``, ``observedGeneration``); suspend and resume; rollback to the last stable
  spec when enabled; deletion through the finalizer (session clusters wait for their jobs; with
  ``job.savepoint-on-deletion`` a savepoint first, through the JobManager, which must still exist).
  A fresh Flink job id per deployment, except a last-state redeploy, which keeps it.
- FlinkSessionJob: runs only on an existing, ready session cluster.
- Savepoints by ``savepointTriggerNonce`` (legacy ``savepointInfo``, epoch-ms numbers) or, when
  snapshot resources are on and the CRD is served, by FlinkStateSnapshot: TRIGGER_PENDING →
  IN_PROGRESS → COMPLETED with a path and ISO-8601 timestamps, or FAILED (retried up to
  ``backoffLimit``) / ABANDONED with an error. Deleting a COMPLETED savepoint snapshot with
  ``disposeOnDelete`` disposes its data through the referenced job (:attr:`disposed_savepoints`),
  or hangs on the finalizer when that job is gone or not running. With snapshot resources
  disabled, nothing reconciles FlinkStateSnapshots even if the CRD is installed.
- Kubernetes Events for what happens, and a JobManager pod whose log (on the emulator) tells the story.

Fault knobs per resource: :meth:`SimulatedFlinkOperator.behave`.

The package, by responsibility:

- :mod:`.core` — :class:`SimulatedFlinkOperator`: the loop, ``behave``, the bookkeeping the controllers share;
- :mod:`.api` — its Kubernetes API calls: status writes, finalizers, Events, JobManager pods and logs;
- :mod:`.deployments` — FlinkDeployment: deploy, JobManager and job progress, stability, rollback trigger;
- :mod:`.upgrades` — FlinkDeployment spec changes: upgrade, suspend, resume, rollback, per upgrade mode;
- :mod:`.savepoints` — savepoints by nonce (legacy ``savepointInfo``), upgrade savepoints, savepoint on deletion;
- :mod:`.snapshots` — the FlinkStateSnapshot controller; :mod:`.session_jobs` — FlinkSessionJob;
- :mod:`.bluegreen` (+ :mod:`.bluegreen_transitions`, :mod:`.bluegreen_children`, :mod:`.bluegreen_diff`) — the
  FlinkBlueGreenDeployment controller, written from the operator's Java source with its own spec diff
  (``operator.bluegreen`` holds its knobs);
- :mod:`.status`, :mod:`.clock`, :mod:`.state` — status conventions, time formats, knobs and per-resource state.
"""

from airflow_flink_operator.testing.operator.bluegreen import reconcile_blue_green
from airflow_flink_operator.testing.operator.clock import kubernetes_timestamp
from airflow_flink_operator.testing.operator.core import SimulatedFlinkOperator
from airflow_flink_operator.testing.operator.state import ResourceTraits, SimTimings
from airflow_flink_operator.testing.operator.status import (
    FINALIZERS,
    LAST_STATE_DUMMY_SP_PATH,
    TERMINAL_JOB_STATES,
    compute_lifecycle,
)

__all__ = [
    "FINALIZERS", "LAST_STATE_DUMMY_SP_PATH", "TERMINAL_JOB_STATES", "ResourceTraits", "SimTimings",
    "SimulatedFlinkOperator", "compute_lifecycle", "kubernetes_timestamp", "reconcile_blue_green",
]
