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
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
