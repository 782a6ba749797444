# Sourced by the other scripts: a virtualenv in .venv with this package, its test and openlineage extras,
# installed from the package registries (works on a fresh machine with only python3).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check uv
fi
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" -e "$ROOT[test,openlineage]"
# Real Flink for the simulated cluster's flink="local" mode (tests/realflink, the demo): the Flink 1.20
# distribution inside the apache-flink wheel (~280 MB), without pyflink's Python dependencies, which the
# JVM side does not need; py4j and ruamel.yaml are what PythonDriver's Python client (Table API, no Python UDFs)
# imports. Only where a JDK 11+ is found (java and javac); AIRFLOW_FLINK_NO_REAL_FLINK=1 skips it.
FLINK_PYPI_VERSION="1.20.5"
_java_major() {
  "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -1 |
    awk '{ print ($1 == 1 ? $2 : $1) }'
}
_java="${JAVA_HOME:+$JAVA_HOME/bin/java}"
[ -n "$_java" ] && [ -x "$_java" ] || _java="$(command -v java || true)"
if [ -z "${AIRFLOW_FLINK_NO_REAL_FLINK:-}" ] && [ -n "$_java" ] && command -v javac >/dev/null 2>&1 \
    && [ "$(_java_major "$_java")" -ge 11 ] 2>/dev/null; then
  if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys, py4j, ruamel.yaml; sys.exit(m.version('apache-flink') != '$FLINK_PYPI_VERSION')" 2>/dev/null; then
    "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps \
      "apache-flink==$FLINK_PYPI_VERSION" "apache-flink-libraries==$FLINK_PYPI_VERSION" \
      "py4j==0.10.9.7" "ruamel.yaml>=0.18.4,<0.20"
  fi
else
  echo "note: no JDK 11+ (java and javac) found: real-Flink tests and the demo's real jobs are skipped;" \
       "install one (e.g. apt-get install openjdk-17-jdk-headless) to run them" >&2
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
