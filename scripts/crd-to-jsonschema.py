#!/usr/bin/env python3
"""Convert CustomResourceDefinitions to strict JSON schemas.

    scripts/crd-to-jsonschema.py OUT_DIR SOURCE CRD.yaml...

Writes OUT_DIR/<kind>_<version>.json (kubeconform's file name layout) for
every served version of each CRD, from its openAPIV3Schema:
- every object schema with `properties` gets `additionalProperties: false`
  unless the CRD keeps unknown fields there
  (`x-kubernetes-preserve-unknown-fields`) or already says what extra keys
  may hold (a map's `additionalProperties`);
- `x-kubernetes-int-or-string` becomes integer-or-string;
- `metadata` is checked as a strict subset of ObjectMeta (the API server
  checks it for every kind; a CRD's schema leaves it open);
- `apiVersion` and `kind` must be the CRD's, `spec` is required;
- descriptions and the other x-kubernetes-* markers are dropped.
SOURCE (e.g. the operator's tag and commit) is recorded in `$comment`.
Needs PyYAML.
"""
import json
import pathlib
import sys

import yaml

METADATA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "maxLength": 253,
            "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        },
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def strict(schema):
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key == "description" or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: strict(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = strict(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [strict(sub) for sub in value]
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable"):
        out.pop("nullable")
        if "type" in out:
            out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def convert(crd, source):
    group = crd["spec"]["group"]
    kind = crd["spec"]["names"]["kind"]
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        api_version = f"{group}/{version['name']}"
        schema["properties"]["apiVersion"] = {"const": api_version}
        schema["properties"]["kind"] = {"const": kind}
        schema["properties"]["metadata"] = METADATA
        schema["properties"].pop("status", None)
        schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
        schema["additionalProperties"] = False
        document = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$comment": f"{kind} {api_version}, from the CRD {crd['metadata']['name']} of {source} "
            "by scripts/crd-to-jsonschema.py; do not edit",
            **schema,
        }
        yield f"{kind.lower()}_{version['name']}.json", document


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out_dir = pathlib.Path(sys.argv[1])
    source = sys.argv[2]
    for path in sys.argv[3:]:
        for crd in yaml.safe_load_all(pathlib.Path(path).read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            for name, document in convert(crd, source):
                (out_dir / name).write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
                print(f"wrote {out_dir / name}")


if __name__ == "__main__":
    main()
