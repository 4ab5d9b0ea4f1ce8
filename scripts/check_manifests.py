#!/usr/bin/env python3
"""Validate deploy/kubernetes (run by scripts/check-manifests.sh, in its venv).

Every kustomization (deploy/kubernetes and deploy/kubernetes/valkey):
- kustomization.yaml and its `configurations:` against the strict schemas
  in deploy/kubernetes/schemas/ (written by hand), each listed resource,
  configuration and generator file present;
- every document of every resource: SpinApp and SpinAppExecutor against
  the JSON schemas converted from SpinKube's CRDs (schemas/*_v1alpha1.json),
  every other kind against Kubernetes' own (kubernetes-validate, strict:
  an unknown field is an error) for each version in K8S_VERSIONS;
- the generated Secrets (secretGenerator) as they would be made from the
  example files (secret.env and runtime-config.toml are git-ignored);
- what no schema sees: references between the files (executor, Secret
  names and keys, the image placeholder, the tick URL and namespace,
  kustomizeconfig paths), the executor's spinImage-xor-runtimeClassName
  rule, and spin.toml against the manifests: the Secret example lists
  exactly the secret variables, the SpinApp passes each from it, every
  key-value store label the components use has a Redis table in each
  runtime-config example, the probe and tick routes exist.
If kubectl is installed, both kustomizations are also rendered
(`kubectl kustomize`, with the examples in place of the git-ignored files)
and every rendered document is validated the same way.

Prints one line per check; exits 1 on any error.
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.parse

import jsonschema
import kubernetes_validate
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "kubernetes"
SCHEMAS = DEPLOY / "schemas"
KUSTOMIZATIONS = [DEPLOY, DEPLOY / "valkey"]
# The oldest and the newest Kubernetes the manifests are meant for.
K8S_VERSIONS = ["1.30", "1.37"]
CRD_SCHEMAS = {
    ("core.spinkube.dev/v1alpha1", "SpinApp"): "spinapp_v1alpha1.json",
    ("core.spinkube.dev/v1alpha1", "SpinAppExecutor"): "spinappexecutor_v1alpha1.json",
}
# Git-ignored inputs of a secretGenerator and the example each is made from.
EXAMPLES = {
    "secret.env": "secret.example.env",
    "runtime-config.toml": "runtime-config.valkey.toml",
}
# Secret keys beyond the Spin variables: the tick CronJob's raw token.
EXTRA_SECRET_KEYS = {"tick-token"}
SECRET_NAME = "slipway-secrets"
RUNTIME_CONFIG_SECRET = "slipway-runtime-config"

failures = []
checked = 0


def rel(path):
    try:
        return str(pathlib.Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def ok(what):
    global checked
    checked += 1
    print(f"ok   {what}")


def fail(what, why):
    global checked
    checked += 1
    failures.append(what)
    print(f"FAIL {what}: {why}")


def load_schema(name):
    return json.loads((SCHEMAS / name).read_text())


def schema_errors(schema, document):
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}" for e in errors]


def validate_document(doc, where):
    """Validate one Kubernetes object against its schema; True if valid."""
    if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
        fail(where, "not a Kubernetes object (apiVersion and kind missing)")
        return False
    name = (doc.get("metadata") or {}).get("name", "?")
    what = f"{where}: {doc['kind']} {name}"
    crd = CRD_SCHEMAS.get((doc["apiVersion"], doc["kind"]))
    if crd:
        errors = schema_errors(load_schema(crd), doc)
        if errors:
            fail(f"{what} (schema {crd})", "; ".join(errors))
            return False
        ok(f"{what} (schema {crd})")
        return True
    good = True
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            fail(what, f"no Kubernetes {version} schema for {doc['apiVersion']} {doc['kind']}")
            return False
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.absolute_path) or "(top)"
            fail(f"{what} (Kubernetes {version}, strict)", f"{path}: {e.message}")
            good = False
    if good:
        ok(f"{what} (Kubernetes {', '.join(K8S_VERSIONS)}, strict)")
    return good


def read_env_file(path):
    """The keys of a kustomize env file, in order (comments and blank lines skipped)."""
    keys = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, _value = line.partition("=")
        if not sep or not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
            raise ValueError(f"{rel(path)}:{number}: not KEY=VALUE with a valid Secret key")
        keys.append(key)
    return keys


def generator_source(directory, name):
    path = directory / name
    if path.exists() and name not in EXAMPLES:
        return path
    if name in EXAMPLES:
        return directory / EXAMPLES[name]
    return path


def check_kustomization(directory):
    """Check one kustomization directory; returns what other checks need."""
    here = rel(directory)
    kfile = directory / "kustomization.yaml"
    try:
        kust = yaml.safe_load(kfile.read_text())
    except Exception as e:  # noqa: BLE001 - report any parse error
        fail(rel(kfile), f"cannot read: {e}")
        return None
    errors = schema_errors(load_schema("kustomization.json"), kust)
    if errors:
        fail(f"{rel(kfile)} (schema kustomization.json)", "; ".join(errors))
    else:
        ok(f"{rel(kfile)} (schema kustomization.json)")
    info = {"dir": directory, "kustomization": kust, "docs": [], "secrets": {}, "configs": []}

    for entry in kust.get("resources", []):
        path = directory / entry
        if not path.is_file():
            fail(f"{here}: resource {entry}", "no such file")
            continue
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as e:
            fail(rel(path), f"not YAML: {e}")
            continue
        if not docs:
            fail(rel(path), "no document")
        for doc in docs:
            validate_document(doc, rel(path))
            info["docs"].append(doc)
    listed = {directory / e for e in kust.get("resources", [])}
    for path in sorted(directory.glob("*.yaml")):
        if path.name != "kustomization.yaml" and path not in listed and path.name not in kust.get("configurations", []):
            fail(rel(path), "a manifest the kustomization does not list")

    tc_schema = load_schema("kustomizeconfig.json")
    for entry in kust.get("configurations", []):
        path = directory / entry
        if not path.is_file():
            fail(f"{here}: configuration {entry}", "no such file")
            continue
        config = yaml.safe_load(path.read_text())
        errors = schema_errors(tc_schema, config)
        if errors:
            fail(f"{rel(path)} (schema kustomizeconfig.json)", "; ".join(errors))
        else:
            ok(f"{rel(path)} (schema kustomizeconfig.json)")
        info["configs"].append(config)

    for gen in kust.get("secretGenerator", []):
        data = {}
        sources = []
        for env in gen.get("envs", []):
            src = generator_source(directory, env)
            sources.append(src)
            if not src.is_file():
                fail(f"{here}: secretGenerator {gen['name']}", f"{rel(src)} missing")
                continue
            try:
                for key in read_env_file(src):
                    data[key] = ""
            except ValueError as e:
                fail(f"{here}: secretGenerator {gen['name']}", str(e))
        for file in gen.get("files", []):
            key, _, name = file.rpartition("=") if "=" in file else (pathlib.Path(file).name, "", file)
            src = generator_source(directory, name)
            sources.append(src)
            if not src.is_file():
                fail(f"{here}: secretGenerator {gen['name']}", f"{rel(src)} missing")
                continue
            data[key] = src.read_text()
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": gen["name"], "namespace": kust.get("namespace", "default")},
            "type": gen.get("type", "Opaque"),
            "stringData": data,
        }
        validate_document(secret, f"{here}: secretGenerator from {', '.join(rel(s) for s in sources)}")
        info["secrets"][gen["name"]] = data
    return info


def spin_manifest():
    return tomllib.loads((ROOT / "spin.toml").read_text())


def walk_path(obj, parts):
    """Values at a kustomize fieldSpec path (sequences are walked through)."""
    if not parts:
        return [obj]
    if isinstance(obj, list):
        return [v for item in obj for v in walk_path(item, parts)]
    if isinstance(obj, dict) and parts[0] in obj:
        return walk_path(obj[parts[0]], parts[1:])
    return []


def check_references(base, valkey):
    kust = base["kustomization"]
    namespace = kust.get("namespace")
    by_kind = {}
    for doc in base["docs"]:
        by_kind.setdefault(doc["kind"], []).append(doc)
    apps = by_kind.get("SpinApp", [])
    executors = {d["metadata"]["name"]: d for d in by_kind.get("SpinAppExecutor", [])}
    if len(apps) != 1:
        fail("deploy/kubernetes: SpinApp", f"expected one SpinApp, found {len(apps)}")
        return None
    app = apps[0]
    spec = app["spec"]
    name = app["metadata"]["name"]

    # The executor: named explicitly, defined here, and a Spin 4 image.
    executor = executors.get(spec.get("executor"))
    if executor is None:
        fail("SpinApp executor", f"{spec.get('executor')!r} is not a SpinAppExecutor of the kustomization")
    else:
        dc = executor["spec"].get("deploymentConfig", {})
        if ("spinImage" in dc) == ("runtimeClassName" in dc):
            fail(f"SpinAppExecutor {executor['metadata']['name']}", "needs exactly one of spinImage and runtimeClassName")
        elif not re.fullmatch(r"ghcr\.io/spinframework/spin:v4\.\d+\.\d+(-distroless)?", dc.get("spinImage", "")):
            fail(f"SpinAppExecutor {executor['metadata']['name']}", f"spinImage {dc.get('spinImage')!r} is not a pinned Spin 4 image")
        elif not executor["spec"].get("createDeployment"):
            fail(f"SpinAppExecutor {executor['metadata']['name']}", "createDeployment must be true")
        else:
            ok(f"SpinApp {name} runs on executor {spec['executor']} ({dc['spinImage']})")
    if spec.get("enableAutoscaling") and "replicas" in spec:
        fail(f"SpinApp {name}", "replicas must be unset with enableAutoscaling")

    # The image placeholder is set by the kustomization's images: entry.
    image_names = {i["name"] for i in kust.get("images", [])}
    if spec["image"] not in image_names:
        fail(f"SpinApp {name} image", f"{spec['image']!r} is not set by an `images:` entry ({sorted(image_names)})")
    else:
        ok(f"SpinApp {name} image {spec['image']!r} set by kustomization images:")

    # kustomizeconfig paths point at fields the SpinApp has.
    for config in base["configs"]:
        specs = [fs for fs in config.get("images", [])]
        for ref in config.get("nameReference", []):
            specs += ref.get("fieldSpecs", [])
        for fs in specs:
            targets = [d for d in base["docs"] if d["kind"] == fs.get("kind", d["kind"])]
            if not any(walk_path(d, fs["path"].split("/")) for d in targets):
                fail("kustomizeconfig.yaml", f"path {fs['path']} matches no field of a {fs.get('kind')}")
            else:
                ok(f"kustomizeconfig.yaml path {fs.get('kind')} {fs['path']}")

    # Secrets referenced exist with their keys.
    secrets = base["secrets"]
    loaded = spec.get("runtimeConfig", {}).get("loadFromSecret")
    if loaded not in secrets:
        fail(f"SpinApp {name} runtimeConfig.loadFromSecret", f"{loaded!r} is not a generated Secret")
    elif set(secrets[loaded]) != {"runtime-config.toml"}:
        fail(f"Secret {loaded}", f"must hold the single key runtime-config.toml, has {sorted(secrets[loaded])}")
    else:
        ok(f"SpinApp {name} runtime config from Secret {loaded} (key runtime-config.toml)")
    refs = []
    for var in spec.get("variables", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs.append((f"SpinApp variable {var['name']}", ref))
    for job in by_kind.get("CronJob", []):
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for container in pod.get("containers", []):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.append((f"CronJob {job['metadata']['name']} env {env['name']}", ref))
    bad = [f"{who}: {ref['name']}/{ref['key']}" for who, ref in refs if ref["key"] not in secrets.get(ref["name"], {})]
    if bad:
        fail("Secret references", "no such Secret key: " + "; ".join(bad))
    else:
        ok(f"{len(refs)} Secret key references resolve to generated Secrets")

    # The tick CronJob calls the app's Service in the kustomization's namespace.
    jobs = by_kind.get("CronJob", [])
    want = f"http://{name}.{namespace}.svc/api/tick"
    urls = []
    for job in jobs:
        for container in job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]:
            urls += [e.get("value") for e in container.get("env", []) if e["name"] == "TICK_URL"]
    if urls != [want]:
        fail("tick CronJob", f"TICK_URL {urls} should be [{want!r}] (SpinApp {name}, namespace {namespace})")
    elif jobs[0]["spec"].get("concurrencyPolicy") != "Forbid":
        fail("tick CronJob", "concurrencyPolicy must be Forbid")
    else:
        ok(f"tick CronJob posts to {want} every '{jobs[0]['spec']['schedule']}'")

    vk = valkey["kustomization"] if valkey else {}
    if valkey and vk.get("namespace") != namespace:
        fail("deploy/kubernetes/valkey", f"namespace {vk.get('namespace')!r} differs from the app's {namespace!r}")
    elif valkey:
        ok(f"valkey kustomization in the app's namespace {namespace}")
    return app


def check_spin_manifest(app, base):
    manifest = spin_manifest()
    variables = manifest.get("variables", {})
    secret_vars = {k for k, v in variables.items() if v.get("secret")}

    # The Secret example lists exactly the secret variables (+ tick-token).
    example = DEPLOY / EXAMPLES["secret.env"]
    try:
        keys = read_env_file(example)
    except ValueError as e:
        fail(rel(example), str(e))
        keys = []
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    missing = sorted(secret_vars - set(keys))
    extra = sorted(set(keys) - secret_vars - EXTRA_SECRET_KEYS)
    if missing or extra or dupes:
        fail(
            f"{rel(example)} vs spin.toml [variables]",
            f"missing secret variables {missing}, not secret variables of spin.toml {extra}, repeated {dupes}",
        )
    else:
        ok(f"{rel(example)} lists the {len(secret_vars)} secret variables of spin.toml (+ {', '.join(sorted(EXTRA_SECRET_KEYS))})")
    for number, line in enumerate(example.read_text().splitlines(), 1):
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.strip():
            fail(f"{rel(example)}:{number}", f"{key} has a value: the example must hold no secret")

    # The SpinApp passes every secret variable from the one Secret, key = name.
    if app is None:
        return
    passed = {}
    problems = []
    for var in app["spec"].get("variables", []):
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if var["name"] not in variables:
            problems.append(f"{var['name']} is not a variable of spin.toml")
            continue
        passed[var["name"]] = ref
        if var["name"] in secret_vars:
            if not ref or "value" in var:
                problems.append(f"{var['name']} is a secret: it must come from secretKeyRef")
            elif ref["name"] != SECRET_NAME or ref["key"] != var["name"]:
                problems.append(f"{var['name']} must be {SECRET_NAME}/{var['name']}, is {ref['name']}/{ref['key']}")
            elif bool(ref.get("optional")) == bool(variables[var["name"]].get("required")):
                want = "not optional (required)" if variables[var["name"]].get("required") else "optional (it has a default)"
                problems.append(f"{var['name']} must be {want}")
    problems += [f"{v} is not passed" for v in sorted(secret_vars - set(passed))]
    if problems:
        fail("SpinApp variables vs spin.toml [variables]", "; ".join(problems))
    else:
        ok(f"SpinApp passes all {len(secret_vars)} secret variables from Secret {SECRET_NAME}")

    # Every key-value label used by a component has a Redis table in every
    # runtime-config example.
    labels = set()
    for component in manifest.get("component", {}).values():
        labels.update(component.get("key_value_stores", []))
    examples = sorted(DEPLOY.glob("runtime-config*.toml"))
    if not examples:
        fail("runtime-config examples", "none in deploy/kubernetes")
    for path in examples:
        try:
            config = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            fail(rel(path), f"not TOML: {e}")
            continue
        stores = config.get("key_value_store", {})
        problems = []
        for label in sorted(labels):
            store = stores.get(label)
            if not store:
                problems.append(f"no [key_value_store.{label}]")
                continue
            scheme = urllib.parse.urlsplit(store.get("url", "")).scheme
            if store.get("type") != "redis" or scheme not in ("redis", "rediss"):
                problems.append(f"[key_value_store.{label}] must be type \"redis\" with a redis:// or rediss:// url")
            unknown = set(store) - {"type", "url"}
            if unknown:
                problems.append(f"[key_value_store.{label}] unknown keys {sorted(unknown)}")
        unknown_tables = set(config) - {"key_value_store", "variables_provider", "client_tls", "outbound_networking", "sqlite_database", "state_dir", "log_dir"}
        if unknown_tables:
            problems.append(f"unknown tables {sorted(unknown_tables)}")
        if problems:
            fail(rel(path), "; ".join(problems))
        else:
            ok(f"{rel(path)} puts key-value store(s) {sorted(labels)} on Redis")

    # Probe and tick paths are routes of the app.
    routes = {t.get("route") for t in manifest.get("trigger", {}).get("http", [])}
    checks = app["spec"].get("checks", {})
    paths = {kind: c["httpGet"]["path"] for kind, c in checks.items()}
    wanted = {"readiness": "/api/health"}
    for kind, path in paths.items():
        if path.startswith("/.well-known/spin/"):
            continue  # served by Spin itself
        if path not in routes:
            fail(f"SpinApp checks.{kind}", f"{path} is not a route of spin.toml")
    if paths.get("readiness") != wanted["readiness"] or "liveness" not in paths:
        fail("SpinApp checks", f"readiness must be GET /api/health and liveness set, have {paths}")
    elif "/api/tick" not in routes:
        fail("spin.toml", "no /api/tick route for the tick CronJob")
    else:
        ok(f"SpinApp checks {paths} and /api/tick are served")


def render(directories):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("skip rendering: kubectl is not installed (each file and generator was checked above)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        copy_root = pathlib.Path(tmp) / "kubernetes"
        shutil.copytree(DEPLOY, copy_root)
        for directory in directories:
            target = copy_root / directory.relative_to(DEPLOY)
            for ignored, example in EXAMPLES.items():
                if (target / example).exists():
                    shutil.copy(target / example, target / ignored)
            result = subprocess.run(
                [kubectl, "kustomize", str(target)], capture_output=True, text=True, check=False
            )
            where = f"kubectl kustomize {rel(directory)}"
            if result.returncode != 0:
                fail(where, result.stderr.strip())
                continue
            docs = [d for d in yaml.safe_load_all(result.stdout) if d]
            ok(f"{where}: rendered {len(docs)} objects")
            for doc in docs:
                validate_document(doc, f"rendered {rel(directory)}")


def main():
    print(f"checking {rel(DEPLOY)}: SpinKube kinds against {rel(SCHEMAS)}, core kinds against Kubernetes {', '.join(K8S_VERSIONS)}")
    infos = [check_kustomization(d) for d in KUSTOMIZATIONS]
    base, valkey = infos[0], infos[1]
    app = check_references(base, valkey) if base else None
    if base:
        check_spin_manifest(app, base)
    render(KUSTOMIZATIONS)
    print(f"{checked - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
