#!/usr/bin/env bash
# The operators' and e2e tests on the oldest Airflow this package declares (pyproject's apache-airflow>=X),
# in a separate virtualenv built from the package registries (works on a fresh machine with only python3).
#
#   scripts/test_oldest_airflow.sh [pytest args]      e.g. -x -q
#
# AIRFLOW_VERSION overrides the version tested (default: the floor in pyproject.toml, e.g. "3.0" = 3.0.0);
# OLDEST_AIRFLOW_VENV where the virtualenv lives (reused between runs); OLDEST_AIRFLOW_TESTS the test paths
# (default: tests/test_operators.py tests/e2e). Set FLINK_CRD_DIR as for scripts/test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
FLOOR="$(sed -n 's/^ *"apache-airflow>=\([0-9][0-9.]*\)".*/\1/p' "$ROOT/pyproject.toml")"
AIRFLOW_VERSION="${AIRFLOW_VERSION:-$FLOOR}"
if [ -z "$AIRFLOW_VERSION" ]; then
  echo "test_oldest_airflow.sh: no apache-airflow>=X floor found in $ROOT/pyproject.toml" >&2
  exit 2
fi
VENV="${OLDEST_AIRFLOW_VENV:-${TMPDIR:-/tmp}/airflow-flink-oldest-airflow-$AIRFLOW_VERSION}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
fi
# Airflow 3.0.x was released (and its constraints file pinned) with FastAPI 0.116; with a newer FastAPI its
# in-process execution API answers every task start with 422 "model_attributes_type" (airflow dags test fails).
# Airflow's own install instructions use its constraints file; this is the one pin from it that matters here.
# Likewise PyJWT: from 2.11 it refuses to encode a token whose "iss" is not a string, and Airflow 3.0.x puts
# "iss": None in its API tokens when [api_auth] jwt_issuer is unset, so its api-server answers 500 to every
# task start (jpadilla/pyjwt#1039; Airflow 3.0.2's constraints pin pyjwt 2.10.1).
# And cryptography: from 51 its MultiFernet is a native class that takes no new attributes, and Airflow 3.0.x sets
# `is_encrypted` on it when it builds any Connection (AttributeError: every connection lookup in a task fails, and
# the cncf hook falls back to the default kubeconfig); 3.0.2's constraints pin a cryptography from before 51.
EXTRA=()
case "$AIRFLOW_VERSION" in
  3.0|3.0.*) EXTRA+=("fastapi<0.117" "pyjwt<2.11" "cryptography<51") ;;
esac
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" \
  -e "$ROOT[test]" "apache-airflow==$AIRFLOW_VERSION" ${EXTRA[@]+"${EXTRA[@]}"}
echo "Testing on $("$VENV/bin/python" -c 'import importlib.metadata as m; print(", ".join(f"{p} {m.version(p)}" for p in ("apache-airflow", "apache-airflow-task-sdk", "apache-airflow-providers-cncf-kubernetes", "apache-airflow-providers-common-compat", "kubernetes")))')"
cd "$ROOT"
read -r -a TESTS <<< "${OLDEST_AIRFLOW_TESTS:-tests/test_operators.py tests/e2e}"
"$VENV/bin/python" -m pytest -p no:cacheprovider "${TESTS[@]}" "$@"
