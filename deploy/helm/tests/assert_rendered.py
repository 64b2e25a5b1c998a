"""Asserts properties of the rendered chart, for every value set.

Usage: assert_rendered.py RULES.yml RENDERED_DIR

Reads RENDERED_DIR/NAME.yaml (from render.py), checks what holds for every value set
(probes, security context, Services, PDBs, the ConfigMap's TOML, grace periods,
labels) and what each set is about (EXPECT below), and writes the ConfigMap's
vigil.toml to RENDERED_DIR/NAME.toml for check.sh to start the real daemon with.
RULES.yml is deploy/prometheus/vigil-rules.yml: the PrometheusRule must carry its rules.
"""

import sys
import tomllib
from pathlib import Path

import yaml

CONFIG_PATH = "/etc/vigil/vigil.toml"
TOP_KEYS = {"listen", "metrics_listen", "backends", "threads", "insecure_plaintext",
            "max_message_bytes", "shutdown_grace_secs", "io_threads", "tls", "queue", "limits"}
TABLE_KEYS = {
    "tls": {"cert", "key", "client_ca"},
    "queue": {"signatures", "bytes", "max_batch_signatures", "coalesce_delay_us",
              "small_batch_signatures", "max_in_flight_batches"},
    "limits": {"connections", "connections_per_ip", "streams_per_connection",
               "handshake_timeout_ms", "idle_timeout_secs", "proofs", "request_transactions"},
}
STANDARD_LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/instance",
                   "app.kubernetes.io/version", "app.kubernetes.io/managed-by"]
# At least this long for GPU kernel compilation and backend self-tests.
MIN_STARTUP_SECONDS = 300

# What each value set is about.
EXPECT = {
    "default.yaml": {"workloads": {"DaemonSet"}, "tls": False, "device": "nvidia.com/gpu",
                     "backend": "cuda"},
    "cpu-only.yaml": {"workloads": {"Deployment"}, "tls": False, "device": None,
                      "backend": "cpu", "replicas": 3},
    "tls-mtls-cert-manager.yaml": {"workloads": {"DaemonSet", "Deployment"}, "tls": True,
                                   "mutual": True, "certificate": True,
                                   "device": "nvidia.com/gpu"},
    "monitoring.yaml": {"workloads": {"DaemonSet"}, "tls": False, "monitor": "ServiceMonitor",
                        "rules": True, "device": "nvidia.com/gpu"},
    "fpga.yaml": {"workloads": {"DaemonSet"}, "tls": False, "device": "xilinx.com/",
                  "backend": "fpga,cpu"},
    "both-podmonitor-ipv6-tuned.yaml": {"workloads": {"DaemonSet", "Deployment"}, "tls": False,
                                        "monitor": "PodMonitor", "device": "nvidia.com/gpu"},
}


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


def one(docs, kind, name_suffix=""):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
    check(len(found) == 1, f"expected one {kind} named *{name_suffix}, found {len(found)}")
    return found[0]


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_config(docs, expect):
    config_map = one(docs, "ConfigMap")
    toml = tomllib.loads(config_map["data"]["vigil.toml"])
    check(set(toml) <= TOP_KEYS, f"unknown top-level keys {set(toml) - TOP_KEYS}")
    for table, keys in TABLE_KEYS.items():
        check(set(toml.get(table, {})) <= keys, f"unknown keys in [{table}]")
    for key in ("listen", "metrics_listen"):
        check(toml[key].rsplit(":", 1)[0] in ("0.0.0.0", "[::]"),
              f"{key} {toml[key]} is not every address of the pod")
    check(toml["insecure_plaintext"] is (not expect["tls"]),
          "insecure_plaintext must be true exactly when TLS is off")
    check(("tls" in toml) is expect["tls"], "[tls] present exactly when TLS is on")
    if expect["tls"]:
        check(toml["tls"]["cert"].startswith("/etc/vigil/tls/"), "certificate path")
        check(("client_ca" in toml["tls"]) is expect.get("mutual", False), "client_ca iff mTLS")
    return config_map, toml


def check_pod(workload, config_map, toml, expect):
    what = f"{workload['kind']} {workload['metadata']['name']}"
    template = workload["spec"]["template"]
    pod = template["spec"]
    check(matches(workload["spec"]["selector"]["matchLabels"], template["metadata"]["labels"]),
          f"{what}: selector does not match its pods")
    check(len(pod["containers"]) == 1, f"{what}: one container")
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    grpc_port = int(toml["listen"].rsplit(":", 1)[1])
    metrics_port = int(toml["metrics_listen"].rsplit(":", 1)[1])
    check(ports.get("grpc") == grpc_port, f"{what}: container port grpc != listen port")
    check(ports.get("metrics") == metrics_port, f"{what}: container port metrics != metrics port")

    # Command and configuration file.
    check(container["command"] == ["/usr/local/bin/vigil"], f"{what}: command")
    args = container["args"]
    check(args[:3] == ["serve", "--config", CONFIG_PATH], f"{what}: args {args}")
    if "backend" in expect and workload["kind"] == ("Deployment" if expect["backend"] == "cpu"
                                                    else "DaemonSet"):
        check(args[3:5] == ["--backend", expect["backend"]], f"{what}: backend {args}")
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    config_mount = mounts.get(CONFIG_PATH)
    check(config_mount is not None, f"{what}: {CONFIG_PATH} not mounted")
    config_volume = volumes[config_mount["name"]]
    check(config_volume.get("configMap", {}).get("name") == config_map["metadata"]["name"]
          and config_mount.get("subPath") == "vigil.toml", f"{what}: config not from the ConfigMap")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    cache = mounts.get(env.get("VIGIL_CACHE_DIR"))
    check(cache is not None and "emptyDir" in volumes[cache["name"]],
          f"{what}: VIGIL_CACHE_DIR is not a mounted emptyDir")

    # Probes: native gRPC health on the gRPC port, or /healthz on the metrics port with TLS.
    for name in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(name)
        check(probe is not None, f"{what}: no {name}")
        if expect["tls"]:
            get = probe.get("httpGet", {})
            check(get.get("path") == "/healthz" and get.get("port") == "metrics"
                  and get.get("scheme", "HTTP") == "HTTP",
                  f"{what}: {name} must GET /healthz on the metrics port with TLS on")
        else:
            check(probe.get("grpc", {}).get("port") == grpc_port,
                  f"{what}: {name} must be a gRPC probe of port {grpc_port}")
            check(probe["grpc"].get("service", "") in ("", "vigil.v1.Verifier"),
                  f"{what}: {name} asks about an unknown service")
    startup = container["startupProbe"]
    check(startup["periodSeconds"] * startup["failureThreshold"] >= MIN_STARTUP_SECONDS,
          f"{what}: the startup probe allows under {MIN_STARTUP_SECONDS} s")
    check(pod["terminationGracePeriodSeconds"] > toml["shutdown_grace_secs"],
          f"{what}: terminationGracePeriodSeconds must exceed shutdown_grace_secs")

    # Pod Security Standard "restricted".
    pod_sc = pod.get("securityContext", {})
    sc = container.get("securityContext", {})
    check(pod_sc.get("runAsNonRoot") is True or sc.get("runAsNonRoot") is True,
          f"{what}: runAsNonRoot")
    check(pod_sc.get("runAsUser", 1) != 0 and sc.get("runAsUser", 1) != 0, f"{what}: uid 0")
    check("RuntimeDefault" in (pod_sc.get("seccompProfile", {}).get("type"),
                               sc.get("seccompProfile", {}).get("type")), f"{what}: seccomp")
    check(sc.get("allowPrivilegeEscalation") is False, f"{what}: allowPrivilegeEscalation")
    check(sc.get("readOnlyRootFilesystem") is True, f"{what}: readOnlyRootFilesystem")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"]
          and not sc["capabilities"].get("add"), f"{what}: capabilities must drop ALL")
    check(not sc.get("privileged"), f"{what}: privileged")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        check(not pod.get(key), f"{what}: {key}")
    check(all("hostPath" not in v for v in pod["volumes"]), f"{what}: hostPath volume")
    check(all("hostPort" not in p for p in container["ports"]), f"{what}: hostPort")

    # Devices.
    limits = container.get("resources", {}).get("limits", {})
    device = expect.get("device")
    if workload["kind"] == "DaemonSet":
        check(device and any(k.startswith(device) and int(v) >= 1 for k, v in limits.items()),
              f"{what}: does not request a {device} device")
        check(pod.get("nodeSelector") or pod.get("affinity"), f"{what}: no node selection")
        if device == "nvidia.com/gpu":
            check(any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", [])),
                  f"{what}: does not tolerate the nvidia.com/gpu taint")
    else:
        check(not any(k.startswith(("nvidia.com/", "xilinx.com/")) for k in limits),
              f"{what}: a CPU-only pod requests a device")
        check(env.get("NVIDIA_VISIBLE_DEVICES") == "void",
              f"{what}: a CPU-only pod must hide the node's GPUs (the image says all)")

    if expect["tls"]:
        tls_mount = next((m for m in container["volumeMounts"]
                          if m["mountPath"] == "/etc/vigil/tls"), None)
        check(tls_mount is not None, f"{what}: TLS files not mounted")
        paths = {item["path"] for source in volumes[tls_mount["name"]]["projected"]["sources"]
                 for item in source["secret"]["items"]}
        wanted = {Path(p).name for p in toml["tls"].values()}
        check(wanted <= paths, f"{what}: TLS volume lacks {wanted - paths}")
    return template["metadata"]["labels"]


def check_services(docs, pod_labels, toml):
    grpc_port = int(toml["listen"].rsplit(":", 1)[1])
    services = [d for d in docs if d["kind"] == "Service"]
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    cluster_ip = [s for s in services if s["spec"].get("clusterIP") != "None"]
    check(len(headless) == 1 and len(cluster_ip) == 1, "one headless and one ClusterIP Service")
    check(cluster_ip[0]["spec"].get("type", "ClusterIP") == "ClusterIP", "ClusterIP Service type")
    for service in services:
        name = service["metadata"]["name"]
        ports = {p["name"]: p for p in service["spec"]["ports"]}
        check(ports["grpc"]["port"] == grpc_port and ports["grpc"]["targetPort"] == "grpc",
              f"Service {name}: grpc port")
        for labels in pod_labels:
            check(matches(service["spec"]["selector"], labels), f"Service {name} misses pods")
    check(headless[0]["spec"].get("publishNotReadyAddresses") is not True,
          "the headless Service must list ready pods only")
    check("metrics" in {p["name"] for p in cluster_ip[0]["spec"]["ports"]},
          "the ClusterIP Service has no metrics port")
    return cluster_ip[0], headless[0]


def check_pdbs(docs, workloads):
    pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    for workload in workloads:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if matches(p["spec"]["selector"]["matchLabels"], labels)]
        check(len(covering) == 1, f"{workload['metadata']['name']}: {len(covering)} PDBs")
        spec = covering[0]["spec"]
        check(("minAvailable" in spec) != ("maxUnavailable" in spec), "PDB takes one bound")


def check_monitoring(docs, expect, cluster_ip, headless, pod_labels, rules_file):
    monitors = [d for d in docs if d["kind"] in ("ServiceMonitor", "PodMonitor")]
    kind = expect.get("monitor")
    check([m["kind"] for m in monitors] == ([kind] if kind else []), f"monitors: {monitors}")
    if kind == "ServiceMonitor":
        spec = monitors[0]["spec"]
        selector = spec["selector"]["matchLabels"]
        check(matches(selector, cluster_ip["metadata"]["labels"])
              and not matches(selector, headless["metadata"]["labels"]),
              "the ServiceMonitor must select the ClusterIP Service only")
        endpoints = spec["endpoints"]
    elif kind == "PodMonitor":
        spec = monitors[0]["spec"]
        check(all(matches(spec["selector"]["matchLabels"], labels) for labels in pod_labels),
              "the PodMonitor misses pods")
        endpoints = spec["podMetricsEndpoints"]
    if kind:
        check(all(e["port"] == "metrics" and e.get("path", "/metrics") == "/metrics"
                  for e in endpoints), "monitor endpoint must be the metrics port")
        check(all({"targetLabel": "job", "replacement": "vigil"}.items()
                  <= r.items() for e in endpoints for r in e["relabelings"]),
              'the rules select job="vigil": the monitor must set it')

    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    check(len(rules) == (1 if expect.get("rules") else 0), "PrometheusRule count")
    if rules:
        wanted = yaml.safe_load(Path(rules_file).read_text())["groups"]
        check(rules[0]["spec"]["groups"] == wanted,
              f"the PrometheusRule's groups differ from {rules_file}")


def check_set(path, rules_file):
    expect = EXPECT[path.name]
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        labels = doc["metadata"].get("labels", {})
        check(all(k in labels for k in STANDARD_LABELS),
              f"{doc['kind']} {doc['metadata']['name']}: standard labels missing")
    config_map, toml = check_config(docs, expect)
    workloads = [d for d in docs if d["kind"] in ("DaemonSet", "Deployment", "StatefulSet")]
    check({w["kind"] for w in workloads} == expect["workloads"], "workloads")
    pod_labels = [check_pod(w, config_map, toml, expect) for w in workloads]
    for workload in workloads:
        if workload["kind"] == "Deployment" and "replicas" in expect:
            check(workload["spec"]["replicas"] == expect["replicas"], "replicas")
    cluster_ip, headless = check_services(docs, pod_labels, toml)
    check_pdbs(docs, workloads)
    check_monitoring(docs, expect, cluster_ip, headless, pod_labels, rules_file)

    certificates = [d for d in docs if d["kind"] == "Certificate"]
    check(len(certificates) == (1 if expect.get("certificate") else 0), "Certificate count")
    for certificate in certificates:
        spec = certificate["spec"]
        secret_names = {s["secret"]["name"] for w in workloads
                        for v in w["spec"]["template"]["spec"]["volumes"] if "projected" in v
                        for s in v["projected"]["sources"]}
        check(secret_names == {spec["secretName"]},
              "the pods must mount the Secret the Certificate writes")
        host = f"{headless['metadata']['name']}.{certificate['metadata'].get('namespace', 'vigil')}"
        check(any(n.startswith(host) for n in spec["dnsNames"]),
              "the certificate must name the headless Service clients dial")
        check("server auth" in spec.get("usages", []), "server auth usage")
    return config_map["data"]["vigil.toml"]


def main():
    rules_file, out_dir = sys.argv[1], Path(sys.argv[2])
    failures = 0
    sets = sorted(out_dir.glob("*.yaml"))
    check(sorted(p.name for p in sets) == sorted(EXPECT), "rendered sets != EXPECT's")
    for path in sets:
        try:
            toml_text = check_set(path, rules_file)
        except Failed as e:
            print(f"FAIL: {path.name}: {e}")
            failures += 1
            continue
        (out_dir / (path.stem + ".toml")).write_text(toml_text)
        print(f"ok: assertions on {path.name}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
