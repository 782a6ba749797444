"""The ``airflow-flink`` command: render typed specs or YAML to manifests, and validate manifests.

``airflow-flink render FILE``   FILE is a Python file defining FlinkDeployment / FlinkSessionJob /
                                FlinkStateSnapshot objects (or a ``RESOURCES`` list), or YAML;
                                prints the ordered multi-document YAML to apply.
``airflow-flink validate FILE`` checks YAML against the models and, with ``--crd-dir`` or
                                ``FLINK_CRD_DIR``, against the CRD schemas; exit 1 on problems.
``airflow-flink demo``          runs the example DAGs end to end on a simulated cluster.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path
from typing import Any

from airflow_flink_operator.constants import DEFAULT_OPERATOR_VERSION


def _resources_from_python(path: Path) -> list[Any]:
    from airflow_flink_operator.manifests import MODELS

    namespace = runpy.run_path(str(path), run_name="__airflow_flink_render__")
    if "RESOURCES" in namespace:
        return list(namespace["RESOURCES"])
    models = tuple(MODELS.values())
    return [value for value in namespace.values() if isinstance(value, models)]


def _load(path: Path) -> list[Any]:
    from airflow_flink_operator.manifests import load_manifests

    if path.suffix == ".py":
        return _resources_from_python(path)
    return load_manifests(path.read_text())


def _render_all(resources: list[Any], operator_version: str) -> list[dict[str, Any]]:
    from airflow_flink_operator.manifests import MODELS, render

    manifests: list[dict[str, Any]] = []
    for resource in resources:
        if isinstance(resource, tuple(MODELS.values())) or (isinstance(resource, dict) and resource.get("kind") in MODELS):
            manifests.extend(render(resource, operator_version=operator_version))
        else:
            manifests.append(resource)
    return manifests


def _report(errors: list[str]) -> int:
    for line in errors:
        print(line, file=sys.stderr)
    return 1 if errors else 0


def cmd_render(args: argparse.Namespace) -> int:
    """Render a Python or YAML file to ordered multi-document YAML."""
    from pydantic import ValidationError

    from airflow_flink_operator.errors import FlinkSpecError
    from airflow_flink_operator.manifests import to_yaml

    try:
        manifests = _render_all(_load(Path(args.file)), args.operator_version)
    except (FlinkSpecError, ValidationError) as exc:
        return _report([str(exc)])
    if not manifests:
        return _report([f"{args.file}: no Flink resources found (define them at module level or in RESOURCES)"])
    text = to_yaml(manifests)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate YAML manifests against the models and, if given, the CRD schemas."""
    from pydantic import ValidationError

    from airflow_flink_operator.crd_schema import CrdSchemas, crd_dir_from_env
    from airflow_flink_operator.errors import FlinkSpecError

    crd_dir = args.crd_dir or crd_dir_from_env()
    schemas = CrdSchemas(crd_dir) if crd_dir else None
    errors: list[str] = []
    checked = 0
    for name in args.files:
        try:
            manifests = _render_all(_load(Path(name)), args.operator_version)
        except (FlinkSpecError, ValidationError) as exc:
            errors.append(f"{name}: {exc}")
            continue
        for manifest in manifests:
            checked += 1
            if schemas is not None:
                label = f"{name}: {manifest.get('kind')} {manifest.get('metadata', {}).get('name', '?')!r}"
                errors += [f"{label}: {problem}" for problem in schemas.errors(manifest)]
    if not errors:
        where = f" and the CRD schemas in {crd_dir}" if schemas else " (no CRD schemas: pass --crd-dir or set FLINK_CRD_DIR)"
        print(f"{checked} manifest(s) valid against the models{where}")
    return _report(errors)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the example DAGs against the simulated cluster (or a real one with --real)."""
    from airflow_flink_operator.demo import run_demo

    return run_demo(args.dag or None, real=args.real, airflow_home=args.airflow_home, behaviours=args.behave,
                    report=args.report, verbose=args.verbose, rbac_role=args.rbac_role)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(prog="airflow-flink", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render", help="Python or YAML in, ordered multi-document YAML out")
    render.add_argument("file", help="a .py file defining Flink resources, or a YAML file")
    render.add_argument("-o", "--output", help="write to this file instead of stdout")
    render.add_argument("--operator-version", default=DEFAULT_OPERATOR_VERSION,
                        help=f"target Flink Kubernetes Operator version (default {DEFAULT_OPERATOR_VERSION}; 'main' for 1.16-SNAPSHOT)")
    render.set_defaults(func=cmd_render)
    validate = sub.add_parser("validate", help="check YAML (or .py) against the models and the CRD schemas")
    validate.add_argument("files", nargs="+", help="YAML or .py files")
    validate.add_argument("--crd-dir", help="directory of CRD YAML files (default: $FLINK_CRD_DIR)")
    validate.add_argument("--operator-version", default=DEFAULT_OPERATOR_VERSION, help="target operator version")
    validate.set_defaults(func=cmd_validate)
    demo = sub.add_parser("demo", help="run the example DAGs end to end (simulated cluster unless --real)")
    demo.add_argument("--dag", action="append", help="an example DAG id (repeatable; default: all)")
    demo.add_argument("--real", action="store_true",
                      help="use the cluster of the kubernetes_default connection / kubeconfig instead of the simulation")
    demo.add_argument("--airflow-home", help="Airflow home to use (default: a new temporary one)")
    demo.add_argument("--behave", action="append", metavar="NAME:TRAIT=VALUE[,...]",
                      help="simulated cluster only: give a resource a trait, e.g. orders:fail_after=0")
    demo.add_argument("--report", help="write a JSON report of the runs and final cluster state here")
    demo.add_argument("--verbose", action="store_true", help="show Airflow's own INFO logs")
    demo.add_argument("--rbac-role", help="simulated cluster only: limit Airflow to this namespaced Role (YAML file)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``airflow-flink``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
