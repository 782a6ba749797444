"""The ``airflow-flink`` command: render typed specs or YAML to manifests, and validate manifests.

``airflow-flink render FILE``   FILE is a Python file defining FlinkDeployment / FlinkSessionJob /
                                FlinkStateSnapshot objects (or a ``RESOURCES`` list), or YAML;
                                prints the ordered multi-document YAML to apply.
``airflow-flink validate FILE`` checks YAML in one pass against the models, the operator's checks,
                                core/v1 pod templates and, with ``--crd-dir`` or ``FLINK_CRD_DIR``, the
                                CRD schemas; exit 1 on problems, 2 on a file it cannot read.
``airflow-flink demo``          runs the example DAGs end to end on a simulated cluster.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path
from typing import Any

from airflow_flink_operator.constants import DEFAULT_OPERATOR_VERSION


class UsageError(Exception):
    """Input the command cannot read at all (exit code 2): one line naming the file and what was expected."""


def _resources_from_python(path: Path) -> list[Any]:
    from airflow_flink_operator.manifests import MODELS

    namespace = runpy.run_path(str(path), run_name="__airflow_flink_render__")
    if "RESOURCES" in namespace:
        return list(namespace["RESOURCES"])
    models = tuple(MODELS.values())
    return [value for value in namespace.values() if isinstance(value, models)]


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file; expected a YAML file of Kubernetes manifests or a .py file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory; expected a YAML file of Kubernetes manifests or a .py file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{path}: cannot be read ({reason}); expected a readable YAML or .py file") from None


def _documents(path: Path) -> list[Any]:
    """The YAML documents of a file, as plain data (empty documents left out)."""
    import yaml

    text = _read_text(path)
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UsageError(f"{path}: is not valid YAML{where}: {problem}; expected Kubernetes manifests") from None


def _load(path: Path) -> list[Any]:
    from airflow_flink_operator.manifests import MODELS, to_model

    if path.suffix == ".py":
        _read_text(path)
        return _resources_from_python(path)
    resources: list[Any] = []
    for doc in _documents(path):
        if not isinstance(doc, dict):
            from airflow_flink_operator.errors import FlinkSpecError, SpecProblem

            raise FlinkSpecError("YAML document", [SpecProblem("(document)", "is not a mapping.",
                                                               "Each YAML document must be one Kubernetes object.")])
        resources.append(to_model(doc) if doc.get("kind") in MODELS else doc)
    return resources


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


def _usage(command: str, error: UsageError) -> int:
    print(f"airflow-flink {command}: error: {error}", file=sys.stderr)
    return 2


def cmd_render(args: argparse.Namespace) -> int:
    """Render a Python or YAML file to ordered multi-document YAML."""
    from pydantic import ValidationError

    from airflow_flink_operator.errors import FlinkSpecError
    from airflow_flink_operator.manifests import to_yaml

    try:
        manifests = _render_all(_load(Path(args.file)), args.operator_version)
    except UsageError as exc:
        return _usage("render", exc)
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


_CRD_EXPECTED = ("expected a directory of the Flink Kubernetes Operator's CRD YAML files "
                 "(the helm chart's crds/ folder, or `kubectl get crd flinkdeployments.flink.apache.org -o yaml`)")


def _crd_schemas(crd_dir: str, where: str) -> Any:
    """The CRD schemas of a directory, or a :class:`UsageError` saying what is wrong with it.

    :param where: how the user named the directory (``--crd-dir /x`` or ``FLINK_CRD_DIR=/x``).
    """
    import yaml

    from airflow_flink_operator.crd_schema import CrdSchemas

    if not Path(crd_dir).exists():
        raise UsageError(f"{where}: no such directory; {_CRD_EXPECTED}")
    if not Path(crd_dir).is_dir():
        raise UsageError(f"{where}: is not a directory; {_CRD_EXPECTED}")
    try:
        schemas = CrdSchemas(crd_dir)
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: a file is not valid YAML ({str(exc).splitlines()[0]}); {_CRD_EXPECTED}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{where}: cannot be read ({exc}); {_CRD_EXPECTED}") from None
    except (ValueError, KeyError, TypeError):
        schemas = None
    if schemas is None or not schemas.covers_group("flink.apache.org"):
        raise UsageError(f"{where}: holds no Flink CustomResourceDefinition; {_CRD_EXPECTED}")
    return schemas


def _yaml_field(field: str) -> str:
    """Show keys of the free-form maps (Flink keys contain dots) as ``flinkConfiguration["a.b"]``."""
    for prefix in ("spec.flinkConfiguration.", "spec.logConfiguration."):
        if field.startswith(prefix):
            return f'{prefix[:-1]}["{field[len(prefix):]}"]'
    return field


def _line(label: str, problem: Any, yaml_user: bool) -> str:
    from airflow_flink_operator.validation import fix_for_yaml

    fix = fix_for_yaml(problem) if yaml_user else problem.fix
    field = _yaml_field(problem.field) if yaml_user else problem.field
    text = f"{label}: {field}: {problem.message}"
    return f"{text} Fix: {fix}" if fix else text


def _merge(*groups: list[Any]) -> list[Any]:
    """Problems from several checkers, one per field (the earlier checker's, which names a fix, wins)."""
    seen: set[str] = set()
    merged = []
    for group in groups:
        fresh = [p for p in group if p.field not in seen]
        seen.update(p.field for p in group)
        merged += fresh
    return merged


def _check_document(doc: Any, schemas: Any, operator_version: str) -> tuple[str, list[Any], int]:
    """Every problem of one YAML document: the label to print, the problems, and the manifests checked."""
    from airflow_flink_operator.errors import FlinkSpecError, SpecProblem
    from airflow_flink_operator.manifests import MODELS, render
    from airflow_flink_operator.pod_template_check import check_deployment_pod_templates
    from airflow_flink_operator.manifest_check import check_manifest

    if not isinstance(doc, dict):
        return "YAML document", [SpecProblem("(document)", "is not a mapping.",
                                             "Each YAML document must be one Kubernetes object.")], 1
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    label = f"{doc.get('kind')} {metadata.get('name', '?')!r}"
    if doc.get("kind") not in MODELS:
        return label, (schemas.errors(doc) if schemas is not None else []), 1
    problems = check_manifest(doc, operator_version)
    rendered = [doc]
    if not problems:
        try:
            rendered = render(doc, operator_version=operator_version)
        except FlinkSpecError as exc:  # checks only rendering makes (e.g. a job's files)
            problems = exc.problems
    pod_problems = check_deployment_pod_templates(doc)
    crd_problems = [p for m in rendered for p in schemas.errors(m)] if schemas is not None else []
    return label, _merge(problems, pod_problems, crd_problems), len(rendered)


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate manifests in one pass: models, the operator's checks, pod templates and, if given, the CRD schemas.

    Exit code 0 when valid, 1 when problems were found (each on its own line, with the manifest path
    and the fix), 2 when a file or the CRD directory cannot be read.
    """
    from pydantic import ValidationError

    from airflow_flink_operator.crd_schema import CRD_DIR_ENV, crd_dir_from_env
    from airflow_flink_operator.errors import FlinkSpecError

    crd_dir = args.crd_dir or crd_dir_from_env()
    try:
        where = f"--crd-dir {crd_dir}" if args.crd_dir else f"{CRD_DIR_ENV}={crd_dir}"
        schemas = _crd_schemas(crd_dir, where) if crd_dir else None
    except UsageError as exc:
        return _usage("validate", exc)
    errors: list[str] = []
    unreadable: list[UsageError] = []
    checked = 0
    for name in args.files:
        path = Path(name)
        try:
            if path.suffix == ".py":
                _read_text(path)
                manifests = _render_all(_resources_from_python(path), args.operator_version)
                documents = None
            else:
                documents = _documents(path)
        except UsageError as exc:
            unreadable.append(exc)
            continue
        except (FlinkSpecError, ValidationError) as exc:  # typed models: the Python phrasing
            errors.append(f"{name}: {exc}")
            continue
        if documents is None:
            from airflow_flink_operator.pod_template_check import check_deployment_pod_templates

            for manifest in manifests:
                checked += 1
                label = f"{name}: {manifest.get('kind')} {manifest.get('metadata', {}).get('name', '?')!r}"
                crd = schemas.errors(manifest) if schemas is not None else []
                errors += [_line(label, p, yaml_user=False)
                           for p in _merge(check_deployment_pod_templates(manifest), crd)]
            continue
        for doc in documents:
            label, problems, count = _check_document(doc, schemas, args.operator_version)
            checked += count
            errors += [_line(f"{name}: {label}", p, yaml_user=True) for p in problems]
    for exc in unreadable:
        _usage("validate", exc)
    if not errors and not unreadable:
        where = f" and the CRD schemas in {crd_dir}" if schemas else " (no CRD schemas: pass --crd-dir or set FLINK_CRD_DIR)"
        print(f"{checked} manifest(s) valid against the models, the operator's checks, core/v1 pod templates{where}")
    code = _report(errors)
    return 2 if unreadable else code


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the example DAGs against the simulated cluster (or a real one with --real)."""
    from airflow_flink_operator.demo import run_demo

    return run_demo(args.dag or None, real=args.real, airflow_home=args.airflow_home, behaviours=args.behave,
                    report=args.report, verbose=args.verbose, rbac_role=args.rbac_role, flink=args.flink,
                    retries=args.retries)


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
    demo.add_argument("--flink", choices=("auto", "local", "simulated"), default="auto",
                      help="simulated cluster only: run jobs on a real local Flink (default auto: when Java 11+ "
                           "and the apache-flink distribution are installed)")
    demo.add_argument("--retries", type=int, metavar="N",
                      help="give every task N retries instead of what its DAG says (0: see a failure at once)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``airflow-flink``."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
