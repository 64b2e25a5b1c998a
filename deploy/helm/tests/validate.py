"""Validates rendered manifests against Kubernetes' schemas, strictly.

Usage: validate.py CRD_SCHEMA_DIR RENDERED.yaml...

Every object of a Kubernetes API kind is checked with kubernetes-validate in strict mode
(unknown fields refused) for the oldest and the newest Kubernetes version the chart
supports. Custom resources (cert-manager's Certificate, the Prometheus operator's
ServiceMonitor, PodMonitor and PrometheusRule) are not in those schemas: each is checked
against CRD_SCHEMA_DIR/<kind>-<group>-<version>.json, hand-written subsets of the upstream
CRDs (the fields this chart writes, unknown fields refused), since the upstream CRDs are
not available offline from PyPI.
"""

import json
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

KUBE_VERSIONS = ["1.27.0", "1.37.0"]
CUSTOM_GROUPS = ("cert-manager.io/", "monitoring.coreos.com/")


def crd_schema(schema_dir, doc):
    group, version = doc["apiVersion"].split("/")
    path = schema_dir / f"{doc['kind'].lower()}-{group}-{version}.json"
    if not path.exists():
        raise SystemExit(f"FAIL: no schema for {doc['kind']} {doc['apiVersion']} ({path.name})")
    return json.loads(path.read_text())


def main():
    schema_dir = Path(sys.argv[1])
    failures = 0
    for rendered in sys.argv[2:]:
        docs = [d for d in yaml.safe_load_all(Path(rendered).read_text()) if d]
        kinds = []
        for doc in docs:
            what = f"{Path(rendered).name}: {doc['kind']}/{doc['metadata']['name']}"
            kinds.append(doc["kind"])
            if doc["apiVersion"].startswith(CUSTOM_GROUPS):
                errors = list(jsonschema.Draft202012Validator(crd_schema(schema_dir, doc))
                              .iter_errors(doc))
                for error in errors:
                    print(f"FAIL: {what} (custom resource): {error.message} "
                          f"at {list(error.absolute_path)}")
                failures += len(errors)
                continue
            for version in KUBE_VERSIONS:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as error:
                    print(f"FAIL: {what} (Kubernetes {version}): {error.message} "
                          f"at {list(error.absolute_path)}")
                    failures += 1
                except kubernetes_validate.SchemaNotFoundError as error:
                    print(f"FAIL: {what}: {error.message}")
                    failures += 1
        print(f"{'ok' if not failures else 'checked'}: validated {Path(rendered).name} "
              f"({len(docs)} objects: {', '.join(sorted(set(kinds)))})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
