#!/usr/bin/env bash
# The deployment files hold together. deploy/k8s: the PrometheusRule is what
# deploy/k8s/gen-prometheusrule.sh makes of rules/*.yml now, its groups are the rule files' and
# pass promtool, and no rule selects a job by name (under the ServiceMonitor the job is the
# Service's name); every YAML parses, every object has a kind and a name, each kustomization
# lists every YAML beside it, the base holds no Prometheus Operator kind, the ServiceMonitor
# selects the collector Service's labels and port; probes use gRPC health on the gRPC port
# (TCP under TLS: the kubelet's gRPC probe cannot speak TLS); secrets are mounted read-only,
# mode 0400; both collector configs (plaintext and TLS) start the real collector, and under TLS
# a plaintext or tokenless caller is refused while the vendor token is let in. With kubectl,
# the base and base + components build with kustomize. deploy/compose: Grafana has no
# anonymous access, no sign-up and its admin password from a compose secret file; images are
# pinned; `docker compose config` when the CLI has compose. deploy/systemd: LoadCredential=
# drop-ins name what the flags and configs use; systemd-analyze verify when present.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
command -v promtool >/dev/null || fail "promtool is not installed (deploy/install-deps.sh installs it)"
command -v openssl >/dev/null || fail "openssl is not installed (deploy/install-deps.sh installs it)"
PY=
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then PY=$p; break; fi
done
[[ -n "$PY" ]] || fail "a python3 with PyYAML is needed to parse the manifests (apt-get install python3-yaml)"
errors=()

# 1. The PrometheusRule is the generator's output for today's rules/.
deploy/k8s/gen-prometheusrule.sh "$WORK/prometheusrule.yaml" >/dev/null ||
  fail "deploy/k8s/gen-prometheusrule.sh failed"
if ! diff -u deploy/k8s/prometheus-operator/prometheusrule.yaml "$WORK/prometheusrule.yaml" \
  >"$WORK/stale.diff"; then
  head -n 40 "$WORK/stale.diff" >&2
  errors+=("deploy/k8s/prometheus-operator/prometheusrule.yaml is stale: run deploy/k8s/gen-prometheusrule.sh")
fi

# 2. Structure, read with an independent YAML parser. Writes the PrometheusRule's groups back to
#    a plain rule file for promtool, and the ConfigMap's collector config for step 3.
"$PY" - "$WORK" >"$WORK/structure.log" 2>&1 <<'PYEOF' || { cat "$WORK/structure.log" >&2; errors+=("structure checks (above)"); }
import glob, os, re, sys
import yaml

work = sys.argv[1]
errs = []
def err(msg): errs.append(msg)

def load_all(path):
    try:
        with open(path) as f:
            return [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        err(f"{path}: does not parse: {e}")
        return []

K8S = "deploy/k8s"
yamls = sorted(glob.glob(f"{K8S}/**/*.yaml", recursive=True) + glob.glob(f"{K8S}/**/*.yml", recursive=True))
docs = {p: load_all(p) for p in yamls}

# Kustomizations: what each lists, that it exists, and that every YAML beside it is listed.
listed_objects = {}   # manifest path -> kustomization listing it (resources, patches)
config_files = set()  # files a configMapGenerator reads (configs, not objects)
for kpath in [p for p in yamls if os.path.basename(p) == "kustomization.yaml"]:
    kdir = os.path.dirname(kpath)
    k = docs[kpath][0] if docs[kpath] else {}
    if k.get("kind") not in ("Kustomization", "Component"):
        err(f"{kpath}: kind {k.get('kind')!r}, not Kustomization or Component")
    refs = []
    for r in k.get("resources", []) + k.get("components", []):
        refs.append(("object", r))
    for p in k.get("patches", []) + k.get("patchesStrategicMerge", []):
        if isinstance(p, str):
            refs.append(("object", p))
        elif "path" in p:
            refs.append(("object", p["path"]))
    for g in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
        for f in g.get("files", []):
            refs.append(("config", f.split("=", 1)[-1]))
    mentioned = set()
    for what, r in refs:
        if "://" in r:
            continue
        full = os.path.normpath(os.path.join(kdir, r))
        if not os.path.exists(full):
            err(f"{kpath}: lists {r}, which does not exist")
            continue
        mentioned.add(full)
        if os.path.isfile(full) and what == "object":
            listed_objects[full] = kpath
        elif os.path.isfile(full):
            config_files.add(full)
    for f in sorted(glob.glob(f"{kdir}/*.yaml") + glob.glob(f"{kdir}/*.yml")):
        if os.path.basename(f) != "kustomization.yaml" and os.path.normpath(f) not in mentioned:
            err(f"{kpath} does not list {os.path.basename(f)}")
    if kdir == K8S:
        for what, r in refs:
            if r.strip("./").split("/")[0] in ("prometheus-operator", "tls", "shared-ledger"):
                err(f"{kpath}: the base must not include the optional {r}")

# Every manifest: parsed, with apiVersion, kind and name.
objects = {}  # (kind, name) -> (path, doc)
for path, ds in docs.items():
    if os.path.basename(path) == "kustomization.yaml" or os.path.normpath(path) in config_files:
        continue
    if os.path.normpath(path) not in listed_objects:
        continue  # reported above if it is beside a kustomization
    for d in ds:
        if not isinstance(d, dict) or not d.get("apiVersion") or not d.get("kind") or not (d.get("metadata") or {}).get("name"):
            err(f"{path}: a document without apiVersion, kind or metadata.name")
            continue
        objects.setdefault((d["kind"], d["metadata"]["name"]), (path, d))

def base_dir(path): return os.path.dirname(path) == K8S
for (kind, name), (path, d) in objects.items():
    if base_dir(path) and d["apiVersion"].startswith("monitoring.coreos.com/"):
        err(f"{path}: {kind} needs the Prometheus Operator's CRDs: keep it out of the base")

def get(kind, name, base=True):
    o = objects.get((kind, name))
    if not o or (base and not base_dir(o[0])):
        err(f"no {kind} {name} in {'the base' if base else K8S}")
        return None
    return o[1]

svc = get("Service", "ccmon-collector")
sts = get("StatefulSet", "ccmon-collector")
cm = get("ConfigMap", "ccmon-collector-config")
sm = get("ServiceMonitor", "ccmon-collector", base=False)
pr = get("PrometheusRule", "ccmon", base=False)

# ServiceMonitor -> Service: labels and port.
if svc and sm:
    if sm["apiVersion"] != "monitoring.coreos.com/v1":
        err(f"ServiceMonitor apiVersion {sm['apiVersion']}")
    sel = (sm["spec"].get("selector") or {})
    ml = sel.get("matchLabels") or {}
    labels = svc["metadata"].get("labels") or {}
    if not ml and not sel.get("matchExpressions"):
        err("ServiceMonitor selects every Service (empty selector)")
    for k, v in ml.items():
        if labels.get(k) != v:
            err(f"ServiceMonitor selects {k}={v}, the collector Service has {k}={labels.get(k)}")
    if "job" in ml or sm["spec"].get("jobLabel"):
        err("ServiceMonitor must not rely on a job label")
    ports = {p.get("name") for p in svc["spec"]["ports"]}
    eps = sm["spec"].get("endpoints") or []
    if not eps:
        err("ServiceMonitor has no endpoints")
    for ep in eps:
        if ep.get("port") not in ports:
            err(f"ServiceMonitor endpoint port {ep.get('port')!r} is not a port of the Service ({sorted(ports)})")
        if ep.get("port") != "metrics":
            err("ServiceMonitor must scrape the metrics port")
    ns = sm["spec"].get("namespaceSelector")
    if ns and not ns.get("any") and "ccmon" not in (ns.get("matchNames") or []):
        err("ServiceMonitor's namespaceSelector leaves out namespace ccmon")

# PrometheusRule: kind, the rule files' groups in order, no job matcher; extracted for promtool.
if pr:
    if pr["apiVersion"] != "monitoring.coreos.com/v1":
        err(f"PrometheusRule apiVersion {pr['apiVersion']}")
    groups = (pr.get("spec") or {}).get("groups") or []
    src = []
    for f in sorted(glob.glob("rules/*.yml")):
        with open(f) as fh:
            src += (yaml.safe_load(fh) or {}).get("groups") or []
    if groups != src:
        err("PrometheusRule spec.groups differ from the groups of rules/*.yml")
    with open(os.path.join(work, "extracted-rules.yml"), "w") as out:
        yaml.safe_dump({"groups": groups}, out, sort_keys=False)
    job = re.compile(r'\bjob\s*=~?\s*"')
    for g in groups:
        for r in g.get("rules") or []:
            if job.search(str(r.get("expr", ""))):
                err(f"rule {r.get('alert') or r.get('record')} (group {g.get('name')}) selects a job by name; "
                    "under the ServiceMonitor the job is the Service's name (ccmon-collector)")

# Probes: gRPC health on the gRPC port the collector listens on.
if sts and cm:
    c = next((c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "collector"), None)
    cfg = yaml.safe_load(cm["data"]["collector.yaml"])
    port = int(str(cfg.get("listen", "127.0.0.1:7400")).rsplit(":", 1)[1])
    named = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    if named.get("grpc") != port:
        err(f"container port grpc is {named.get('grpc')}, the config listens on {port}")
    if named.get("metrics") != int(str(cfg.get("metrics_listen")).rsplit(":", 1)[1]):
        err("container port metrics differs from the config's metrics_listen")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = c.get(probe) or {}
        if (p.get("grpc") or {}).get("port") != port:
            err(f"{probe} is not a gRPC health probe on port {port}: {p}")
        if "httpGet" in p and p["httpGet"].get("path") in ("/healthz", "/metrics"):
            err(f"{probe} on {p['httpGet']['path']}")
    with open(os.path.join(work, "base-collector.yaml"), "w") as out:
        out.write(cm["data"]["collector.yaml"])
    with open(os.path.join(work, "continuity.yaml"), "w") as out:
        out.write(cm["data"]["continuity.yaml"])

# The shared-ledger component: the collector keeps its config and gets a postgresql:// ledger,
# with the password from a Secret, never in the URI.
sl = next((d for p, ds in docs.items() if p == f"{K8S}/shared-ledger/collector-patch.yaml" for d in ds), None)
if not sl:
    err("deploy/k8s/shared-ledger/collector-patch.yaml missing")
else:
    c = sl["spec"]["template"]["spec"]["containers"][0]
    args = c.get("args", [])
    if args[:3] != ["ccmon-collector", "--config", "/etc/ccmon/collector.yaml"]:
        err(f"shared-ledger component: args {args} drop the collector's config")
    uri = args[args.index("--ledger-database") + 1] if "--ledger-database" in args else ""
    if not uri.startswith("postgresql://") or re.match(r"postgresql://[^/@]*:[^@]*@", uri):
        err(f"shared-ledger component: --ledger-database {uri!r} is not a postgresql:// URI without a password")
    env = {e["name"]: e for e in c.get("env", [])}
    if "secretKeyRef" not in (env.get("PGPASSWORD", {}).get("valueFrom") or {}):
        err("shared-ledger component: PGPASSWORD must come from a Secret")

# The tls component: probes leave gRPC (plaintext only), secrets read-only with mode 0400, and
# every secret path its config names lies in a secret mount.
tls_cfg_path = f"{K8S}/tls/collector.yaml"
tls_patch = next((d for p, ds in docs.items() if p == f"{K8S}/tls/collector-patch.yaml" for d in ds), None)
if not tls_patch or not os.path.exists(tls_cfg_path):
    err("deploy/k8s/tls: collector-patch.yaml or collector.yaml missing")
else:
    c = tls_patch["spec"]["template"]["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        p = c.get(probe)
        if p is None or "grpc" not in p or p["grpc"] is not None or "tcpSocket" not in p:
            err(f"tls component: {probe} must drop grpc (grpc: null) for tcpSocket")
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    secret_dirs = []
    for v in tls_patch["spec"]["template"]["spec"].get("volumes", []):
        if "secret" in v:
            m = mounts.get(v["name"])
            if not m:
                err(f"tls component: secret volume {v['name']} is not mounted")
                continue
            secret_dirs.append(m["mountPath"].rstrip("/") + "/")
    with open(tls_cfg_path) as f:
        tcfg = yaml.safe_load(f)
    paths = [tcfg.get("tls", {}).get(k) for k in ("cert", "key", "client_ca")]
    paths += [s.get("token_file") for s in tcfg.get("sites", [])]
    paths += [m.get("token_file") for m in tcfg.get("monitor_tokens", [])]
    for p in filter(None, paths):
        if not any(p.startswith(d) for d in secret_dirs):
            err(f"{tls_cfg_path}: {p} is not in a secret mount ({secret_dirs})")
    if not tcfg.get("monitor_tokens"):
        err(f"{tls_cfg_path}: no monitor_tokens: the Monitor API would be open to every site")
    if tcfg.get("allow_insecure_remote"):
        err(f"{tls_cfg_path}: allow_insecure_remote with TLS")
    # The same clients, queues, sites and settings as the base: only security differs.
    if cm:
        base = yaml.safe_load(cm["data"]["collector.yaml"])
        strip = lambda c: {k: ([{kk: vv for kk, vv in s.items() if kk not in ("token", "token_file")} for s in v]
                               if k == "sites" else v)
                           for k, v in c.items() if k not in ("tls", "monitor_tokens", "allow_insecure_remote")}
        if strip(base) != strip(tcfg):
            err(f"{tls_cfg_path} differs from the base's collector.yaml beyond tls, tokens and allow_insecure_remote")
        with open(os.path.join(work, "tls-collector.yaml"), "w") as out:
            out.write(open(tls_cfg_path).read())

# Every secret volume anywhere: read-only mount, mode 0400.
for path, ds in docs.items():
    for d in ds:
        spec = (((d or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
        vols = {v["name"]: v for v in spec.get("volumes", []) if isinstance(v, dict) and "secret" in v}
        for v in vols.values():
            if v["secret"].get("defaultMode") != 0o400:
                err(f"{path}: secret volume {v['name']} defaultMode {v['secret'].get('defaultMode')}, not 0400 (256)")
        for c in spec.get("containers", []):
            for m in c.get("volumeMounts", []):
                if m["name"] in vols and not m.get("readOnly"):
                    err(f"{path}: secret {m['name']} mounted writable")

# Compose: Grafana behind a login with a password from a secret file; images pinned.
COMPOSE = "deploy/compose/docker-compose.yml"
cd = (load_all(COMPOSE) or [{}])[0]
g = (cd.get("services") or {}).get("grafana") or {}
env = g.get("environment") or {}
if isinstance(env, list):
    env = dict(e.split("=", 1) for e in env)
if str(env.get("GF_AUTH_ANONYMOUS_ENABLED", "false")).lower() != "false" or "GF_AUTH_ANONYMOUS_ORG_ROLE" in env:
    err(f"{COMPOSE}: Grafana allows anonymous viewers")
if str(env.get("GF_USERS_ALLOW_SIGN_UP", "")).lower() != "false":
    err(f"{COMPOSE}: Grafana sign-up not disabled (GF_USERS_ALLOW_SIGN_UP: \"false\")")
if "GF_SECURITY_ADMIN_PASSWORD" in env:
    err(f"{COMPOSE}: Grafana's admin password is in the file")
pwfile = env.get("GF_SECURITY_ADMIN_PASSWORD__FILE", "")
secrets = cd.get("secrets") or {}
gsecrets = [s if isinstance(s, str) else s.get("source") for s in g.get("secrets") or []]
m = re.fullmatch(r"/run/secrets/([A-Za-z0-9_.-]+)", pwfile)
if not m or m.group(1) not in gsecrets or "file" not in (secrets.get(m.group(1)) or {}):
    err(f"{COMPOSE}: GF_SECURITY_ADMIN_PASSWORD__FILE must be /run/secrets/NAME of a file secret given to grafana")
elif pwfile not in " ".join(map(str, g.get("entrypoint") or [])):
    err(f"{COMPOSE}: Grafana does not refuse to start without its password file")
for name, s in (cd.get("services") or {}).items():
    img = s.get("image", "")
    if img and (":" not in img.rsplit("/", 1)[-1] or img.endswith(":latest")):
        err(f"{COMPOSE}: service {name} image {img} is not pinned to a version")

# systemd: every %d/NAME a drop-in passes is loaded; credentials come from /etc/ccmon/credentials;
# the config paths the collector's drop-in shows are credentials it loads.
for conf in sorted(glob.glob("deploy/systemd/*.service.d/*.conf")):
    text = open(conf).read()
    ids = {}
    for line in text.splitlines():
        mm = re.match(r"LoadCredential=([^:]+):(.*)$", line.strip())
        if mm:
            ids[mm.group(1)] = mm.group(2)
            if not mm.group(2).startswith("/etc/ccmon/credentials/"):
                err(f"{conf}: credential {mm.group(1)} from {mm.group(2)}, not /etc/ccmon/credentials/")
    if not ids:
        err(f"{conf}: no LoadCredential=")
    for used in re.findall(r"%d/([A-Za-z0-9_.@-]+)", "\n".join(l for l in text.splitlines() if not l.startswith("#"))):
        if used not in ids:
            err(f"{conf}: %d/{used} is passed but not loaded")
    unit = os.path.basename(os.path.dirname(conf))[:-2]
    for used in re.findall(r"/run/credentials/" + re.escape(unit) + r"/([a-z0-9][A-Za-z0-9_.@-]*)", text):
        if used not in ids and f"# LoadCredential={used}:" not in text:
            err(f"{conf}: the config example names {used}, which is not loaded")
units = sorted(glob.glob("deploy/systemd/*.service"))
for u in units:
    if not glob.glob(u + ".d/*.conf"):
        err(f"{u}: no credentials drop-in ({os.path.basename(u)}.d/credentials.conf)")

print("\n".join(f"structure: {e}" for e in errs) or "structure: ok")
sys.exit(1 if errs else 0)
PYEOF

# 3. The extracted groups are valid Prometheus rules.
if [[ -s "$WORK/extracted-rules.yml" ]]; then
  promtool check rules "$WORK/extracted-rules.yml" >"$WORK/promtool.log" 2>&1 ||
    { cat "$WORK/promtool.log" >&2; errors+=("promtool check rules on the PrometheusRule's spec.groups"); }
else
  errors+=("no rule groups extracted from the PrometheusRule")
fi

# 4. Both collector configs start the real collector. The TLS one with secrets from
#    deploy/k8s/tls/make-secrets.sh at the paths it mounts them: plaintext and tokenless callers
#    are refused, the vendor's token is let in.
if [[ -s "$WORK/base-collector.yaml" ]]; then
  start_collector base --config "$WORK/base-collector.yaml" --data-dir "$WORK/data-base" \
    --continuity-rules "$WORK/continuity.yaml"
  kill "$COLLECTOR_PID" 2>/dev/null || true
  wait "$COLLECTOR_PID" 2>/dev/null || true
fi
if [[ -s "$WORK/tls-collector.yaml" ]]; then
  deploy/k8s/tls/make-secrets.sh "$WORK/secrets" >"$WORK/make-secrets.log" 2>&1 ||
    { cat "$WORK/make-secrets.log" >&2; fail "deploy/k8s/tls/make-secrets.sh failed"; }
  sed -e "s#/etc/ccmon-secrets/tls/#$WORK/secrets/#g; s#/etc/ccmon-secrets/tokens/#$WORK/secrets/#g" \
    "$WORK/tls-collector.yaml" >"$WORK/tls-local.yaml"
  start_collector tls --config "$WORK/tls-local.yaml" --data-dir "$WORK/data-tls" \
    --continuity-rules "$WORK/continuity.yaml"
  ctl=("$BIN/ccmon-ctl" --collector "localhost:$GRPC_PORT" --timeout 5)
  "${ctl[@]}" status >/dev/null 2>&1 && errors+=("TLS collector: a plaintext caller was answered")
  "${ctl[@]}" --tls-ca "$WORK/secrets/ca.crt" status >/dev/null 2>&1 &&
    errors+=("TLS collector: a caller without a Monitor token was answered")
  "${ctl[@]}" --tls-ca "$WORK/secrets/ca.crt" --token-file "$WORK/secrets/monitor-vendor.token" \
    status >"$WORK/ctl-status.log" 2>&1 ||
    { cat "$WORK/ctl-status.log" >&2; errors+=("TLS collector: the vendor's token over TLS was refused"); }
  grep -q manila-1 "$WORK/ctl-status.log" || errors+=("TLS collector: status does not list manila-1")
  kill "$COLLECTOR_PID" 2>/dev/null || true
  wait "$COLLECTOR_PID" 2>/dev/null || true
fi

# 5. kustomize builds (kubectl's built-in kustomize), when kubectl is here.
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  kubectl kustomize deploy/k8s >"$WORK/base.out" 2>"$WORK/kustomize.log" ||
    { cat "$WORK/kustomize.log" >&2; errors+=("kubectl kustomize deploy/k8s"); }
  mkdir -p "$WORK/overlay"
  rel=$(realpath --relative-to="$WORK/overlay" deploy/k8s)
  printf 'resources: [%s]\ncomponents: [%s/prometheus-operator, %s/tls]\n' "$rel" "$rel" "$rel" \
    >"$WORK/overlay/kustomization.yaml"
  if kubectl kustomize "$WORK/overlay" >"$WORK/overlay.out" 2>"$WORK/kustomize.log"; then
    "$PY" - "$WORK/base.out" "$WORK/overlay.out" >"$WORK/built.log" 2>&1 <<'PYEOF' ||
import sys, yaml
errs = []
base = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
full = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d]
kinds = lambda ds: {(d["kind"], d["metadata"]["name"]) for d in ds}
if any(d["apiVersion"].startswith("monitoring.coreos.com/") for d in base):
    errs.append("the base build holds Prometheus Operator kinds")
for want in [("ServiceMonitor", "ccmon-collector"), ("PrometheusRule", "ccmon")]:
    if want not in kinds(full):
        errs.append(f"base + components: no {want}")
for d in full:
    if d["kind"] != "Namespace" and d["metadata"].get("namespace") != "ccmon":
        errs.append(f"{d['kind']} {d['metadata']['name']} not in namespace ccmon")
    if d["kind"] == "Service" and any(k.startswith("prometheus.io/") for k in (d["metadata"].get("annotations") or {})):
        errs.append("with the ServiceMonitor the Service keeps its prometheus.io annotations (scraped twice)")
    if d["kind"] == "StatefulSet":
        c = d["spec"]["template"]["spec"]["containers"][0]
        for p in ("startupProbe", "readinessProbe", "livenessProbe"):
            if set(c[p]) & {"grpc", "httpGet", "exec"} or "tcpSocket" not in c[p]:
                errs.append(f"TLS build: {p} is {c[p]}")
        vols = {v["name"] for v in d["spec"]["template"]["spec"]["volumes"]}
        if not {"tls", "tokens", "config"} <= vols:
            errs.append(f"TLS build: volumes {sorted(vols)}")
    if d["kind"] == "ConfigMap" and "tls:" not in d["data"]["collector.yaml"]:
        errs.append("TLS build: the ConfigMap's collector.yaml has no tls")
print("\n".join(errs))
sys.exit(1 if errs else 0)
PYEOF
      { cat "$WORK/built.log" >&2; errors+=("kustomize output checks (above)"); }
  else
    cat "$WORK/kustomize.log" >&2
    errors+=("kubectl kustomize of the base with the prometheus-operator and tls components")
  fi
else
  echo "note: kubectl not installed; kustomize builds not checked"
fi

# 6. docker compose config, when the docker CLI has the compose plugin (no engine needed). The
#    password file is the user's; a stand-in is given through an override file.
if docker compose version >/dev/null 2>&1; then
  echo stand-in >"$WORK/grafana_admin_password"
  printf 'secrets:\n  grafana_admin_password:\n    file: %s\n' "$WORK/grafana_admin_password" \
    >"$WORK/compose-override.yml"
  docker compose --project-directory deploy/compose -f deploy/compose/docker-compose.yml \
    -f "$WORK/compose-override.yml" config -q >"$WORK/compose.log" 2>&1 ||
    { cat "$WORK/compose.log" >&2; errors+=("docker compose config"); }
else
  echo "note: docker compose not available; deploy/compose/docker-compose.yml checked by structure only"
fi

# 7. systemd units with their drop-ins, when systemd-analyze is here. The binaries are not
#    installed on a test machine: that complaint is the only one allowed.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$WORK/units"
  cp -r deploy/systemd/. "$WORK/units/"
  (cd "$WORK/units" && SYSTEMD_UNIT_PATH="$WORK/units:" systemd-analyze verify --man=no \
    ccmon-collector.service ccmon-agent@manila-1.service) >"$WORK/verify.log" 2>&1 || true
  if grep -v 'is not executable: No such file or directory' "$WORK/verify.log" | grep -q .; then
    cat "$WORK/verify.log" >&2
    errors+=("systemd-analyze verify deploy/systemd")
  fi
else
  echo "note: systemd-analyze not installed; unit files checked by structure only"
fi

if ((${#errors[@]})); then
  printf 'FAIL: %s\n' "${errors[@]}" >&2
  exit 1
fi
echo "PASS"
