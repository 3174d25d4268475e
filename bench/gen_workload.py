#!/usr/bin/env python3
# Copied from the workload generator of the project's design documents
# (bench/gen_workload.py beside DESIGN.md); kept unchanged below this note.
"""Generate a Kubernetes-manifest compilation workload of N services.

Standard library only.  Usage:

    python3 gen_workload.py N OUTDIR [--seed S]

Writes into OUTDIR:

  helm/                 a chart "bench" in the usual "one chart, values drive
                        everything" style: values.yaml lists the N services,
                        templates/{configmap,pvc,service,deployment}.yaml each
                        `range` over .Values.services and use named templates
                        from templates/_helpers.tpl via `include ... | nindent`.
                        Render:  helm template bench ./helm
  kustomize/base/       the same resources: one file per service under
                        base/services/ (Deployment + Service [+ PVC]) and one
                        configMapGenerator entry per service in
                        base/kustomization.yaml (names get a hash suffix and
                        the Deployments' envFrom references are rewritten).
  kustomize/overlays/prod/
                        resources: ../../base, namespace: prod, common labels
                        (labels: with includeSelectors) and a JSON6902 patch
                        that sets replicas on every Deployment.
                        Render:  kubectl kustomize ./kustomize/overlays/prod
  infra/                an equivalent infra project (see DESIGN.md): the
                        services are a list param, each kind is one
                        document repeated with `for_each`, the PVC and the
                        volume mounts are chosen with `when`, ConfigMaps
                        use `hash: suffix`, and environment `prod` sets the
                        namespace, labels and replicas.
                        Build:   infra build ./infra --env prod -o -
                        It emits the same objects (kind and name, ConfigMap
                        names aside) with infra's own hash annotations in
                        place of helm's checksum/config.
  expected-plain.yaml   the plain manifests the workload stands for: byte for
                        byte what `helm template bench ./helm` prints once its
                        "# Source: ..." comment lines are removed.  The
                        kustomize overlay renders the same objects, except that
                        ConfigMap names (and references to them) carry
                        kustomize's hash suffix and map keys may be reordered.
  workload.json         N, per-kind counts, expected document count and bytes.

Per service i (1..N): Deployment, Service, ConfigMap (10 keys); every 10th
service (i % 10 == 0) also a PersistentVolumeClaim that its Deployment mounts.
Documents: 3*N + N//10.  Output is deterministic for a given (N, seed).
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys

RELEASE = "bench"          # release name used by `helm template bench ./helm`
CHART = "bench"
NAMESPACE = "prod"
COMMON_LABELS = {"env": "prod", "team": "platform"}   # helm: sorted by toYaml
PROD_REPLICAS = 3
STORAGE_CLASS = "standard"
RESOURCES = {  # rendered with toYaml -> keys sorted
    "limits": {"cpu": "500m", "memory": "256Mi"},
    "requests": {"cpu": "100m", "memory": "128Mi"},
}
LOG_LEVELS = ["info", "debug", "warn"]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1", "us-west-2"]
FLAGS = ["search", "checkout-v2", "recommendations", "dark-mode", "beta-api",
         "fast-path", "audit-log", "geo-routing"]


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------

def svc_name(i):
    return "svc-%05d" % i


def build_services(n, seed):
    rnd = random.Random(seed)
    services = []
    for i in range(1, n + 1):
        name = svc_name(i)
        version = "%d.%d.%d" % (1 + i % 3, rnd.randrange(20), rnd.randrange(50))
        port = 8000 + (i % 100)
        upstream = svc_name((i % n) + 1)
        flags = sorted(rnd.sample(FLAGS, 1 + rnd.randrange(4)))
        # all values are strings (quoted in values.yaml) so helm keeps them
        # strings and toJson / sha256sum is reproducible here.
        config = {
            "CACHE_TTL_SECONDS": str(60 + (i * 37) % 540),
            "DB_HOST": "db-%d.%s.svc.cluster.local" % (i % 8, NAMESPACE),
            "DB_NAME": "svc_%05d" % i,
            "DB_PORT": "5432",
            "FEATURE_FLAGS": ",".join(flags),
            "HTTP_PORT": str(port),
            "LOG_LEVEL": LOG_LEVELS[i % len(LOG_LEVELS)],
            "MAX_CONNECTIONS": str(50 + (i * 7) % 150),
            "REGION": REGIONS[i % len(REGIONS)],
            "UPSTREAM_URL": "http://%s.%s.svc.cluster.local:80" % (upstream, NAMESPACE),
        }
        services.append({
            "i": i,
            "name": name,
            "image": "registry.example.com/bench/%s:%s" % (name, version),
            "version": version,
            "replicas": PROD_REPLICAS,          # what prod gets (helm values)
            "base_replicas": 1 + i % 2,        # kustomize base, patched in prod
            "port": port,
            "storage": ("%dGi" % (10 * (1 + i % 5))) if i % 10 == 0 else None,
            "config": config,
        })
    return services


def config_checksum(config):
    """sha256 of helm's `toJson` of the config map (Go json.Marshal: sorted
    keys, no spaces).  Values are plain ASCII without <, >, & so Go's HTML
    escaping does not apply."""
    data = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(data.encode()).hexdigest()


def go_quote(s):
    """sprig `quote` (fmt %q) for the plain ASCII strings used here."""
    assert all(32 <= ord(c) < 127 for c in s), s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------
# expected plain manifests (mirrors the helm templates exactly)
# --------------------------------------------------------------------------

def ind(lines, n):
    pad = " " * n
    return [pad + l for l in lines]


def selector_label_lines(s):
    out = ["app.kubernetes.io/name: %s" % s["name"],
           "app.kubernetes.io/instance: %s" % RELEASE]
    out += ["%s: %s" % (k, COMMON_LABELS[k]) for k in sorted(COMMON_LABELS)]
    return out


def label_lines(s):
    return selector_label_lines(s) + [
        "app.kubernetes.io/part-of: %s" % CHART,
        "app.kubernetes.io/version: %s" % go_quote(s["version"]),
    ]


def yaml_map_lines(d):
    out = []
    for k in sorted(d):
        v = d[k]
        if isinstance(v, dict):
            out.append("%s:" % k)
            out += ind(yaml_map_lines(v), 2)
        else:
            out.append("%s: %s" % (k, v))
    return out


def plain_configmap(s):
    l = ["apiVersion: v1", "kind: ConfigMap", "metadata:",
         "  name: %s-config" % s["name"],
         "  namespace: %s" % NAMESPACE,
         "  labels:"]
    l += ind(label_lines(s), 4)
    l.append("data:")
    for k in sorted(s["config"]):
        l.append("  %s: %s" % (k, go_quote(s["config"][k])))
    return "\n".join(l)


def plain_pvc(s):
    l = ["apiVersion: v1", "kind: PersistentVolumeClaim", "metadata:",
         "  name: %s-data" % s["name"],
         "  namespace: %s" % NAMESPACE,
         "  labels:"]
    l += ind(label_lines(s), 4)
    l += ["spec:",
          "  accessModes:",
          "    - ReadWriteOnce",
          "  storageClassName: %s" % STORAGE_CLASS,
          "  resources:",
          "    requests:",
          "      storage: %s" % s["storage"]]
    return "\n".join(l)


def plain_service(s):
    l = ["apiVersion: v1", "kind: Service", "metadata:",
         "  name: %s" % s["name"],
         "  namespace: %s" % NAMESPACE,
         "  labels:"]
    l += ind(label_lines(s), 4)
    l += ["spec:", "  type: ClusterIP", "  selector:"]
    l += ind(selector_label_lines(s), 4)
    l += ["  ports:",
          "    - name: http",
          "      port: 80",
          "      targetPort: http",
          "      protocol: TCP"]
    return "\n".join(l)


def plain_deployment(s):
    l = ["apiVersion: apps/v1", "kind: Deployment", "metadata:",
         "  name: %s" % s["name"],
         "  namespace: %s" % NAMESPACE,
         "  labels:"]
    l += ind(label_lines(s), 4)
    l += ["spec:",
          "  replicas: %d" % s["replicas"],
          "  revisionHistoryLimit: 5",
          "  selector:",
          "    matchLabels:"]
    l += ind(selector_label_lines(s), 6)
    l += ["  template:",
          "    metadata:",
          "      annotations:",
          "        checksum/config: %s" % config_checksum(s["config"]),
          "      labels:"]
    l += ind(selector_label_lines(s), 8)
    l += ["    spec:",
          "      securityContext:",
          "        runAsNonRoot: true",
          "        runAsUser: 10001",
          "      containers:",
          "        - name: app",
          "          image: %s" % go_quote(s["image"]),
          "          imagePullPolicy: IfNotPresent",
          "          ports:",
          "            - name: http",
          "              containerPort: %d" % s["port"],
          "              protocol: TCP",
          "          envFrom:",
          "            - configMapRef:",
          "                name: %s-config" % s["name"],
          "          livenessProbe:",
          "            httpGet:",
          "              path: /healthz",
          "              port: http",
          "            initialDelaySeconds: 10",
          "            periodSeconds: 10",
          "          readinessProbe:",
          "            httpGet:",
          "              path: /ready",
          "              port: http",
          "            periodSeconds: 5",
          "          resources:"]
    l += ind(yaml_map_lines(RESOURCES), 12)
    if s["storage"]:
        l += ["          volumeMounts:",
              "            - name: data",
              "              mountPath: /data",
              "      volumes:",
              "        - name: data",
              "          persistentVolumeClaim:",
              "            claimName: %s-data" % s["name"]]
    return "\n".join(l)


def expected_docs(services):
    """In helm's install order: ConfigMap, PersistentVolumeClaim, Service,
    Deployment; within a kind, values order."""
    docs = []
    docs += [("ConfigMap", plain_configmap(s)) for s in services]
    docs += [("PersistentVolumeClaim", plain_pvc(s)) for s in services if s["storage"]]
    docs += [("Service", plain_service(s)) for s in services]
    docs += [("Deployment", plain_deployment(s)) for s in services]
    return docs


# --------------------------------------------------------------------------
# helm chart
# --------------------------------------------------------------------------

CHART_YAML = """\
apiVersion: v2
name: bench
description: Benchmark chart - N services driven entirely by values.yaml
type: application
version: 0.1.0
appVersion: "1.0.0"
"""

HELPERS_TPL = """\
{{/*
Selector labels: the stable subset used in selectors.
Called with (dict "name" <service name> "version" <tag> "root" $).
*/}}
{{- define "bench.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "bench.labels" -}}
{{ include "bench.selectorLabels" . }}
app.kubernetes.io/part-of: {{ .root.Chart.Name }}
app.kubernetes.io/version: {{ .version | quote }}
{{- end }}

{{/*
Image tag of a service entry (the part after the last ':').
*/}}
{{- define "bench.imageTag" -}}
{{ splitList ":" .image | last }}
{{- end }}
"""

CONFIGMAP_TPL = """\
{{- range $svc := .Values.services }}
{{- $ctx := dict "name" $svc.name "version" (include "bench.imageTag" $svc) "root" $ }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $svc.name }}-config
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" $ctx | nindent 4 }}
data:
  {{- range $k, $v := $svc.config }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
{{- end }}
"""

PVC_TPL = """\
{{- range $svc := .Values.services }}
{{- if $svc.storage }}
{{- $ctx := dict "name" $svc.name "version" (include "bench.imageTag" $svc) "root" $ }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ $svc.name }}-data
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" $ctx | nindent 4 }}
spec:
  accessModes:
    - ReadWriteOnce
  storageClassName: {{ $.Values.storageClassName }}
  resources:
    requests:
      storage: {{ $svc.storage }}
{{- end }}
{{- end }}
"""

SERVICE_TPL = """\
{{- range $svc := .Values.services }}
{{- $ctx := dict "name" $svc.name "version" (include "bench.imageTag" $svc) "root" $ }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $svc.name }}
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" $ctx | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "bench.selectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
{{- end }}
"""

DEPLOYMENT_TPL = """\
{{- range $svc := .Values.services }}
{{- $ctx := dict "name" $svc.name "version" (include "bench.imageTag" $svc) "root" $ }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $svc.name }}
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ $svc.replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "bench.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      annotations:
        checksum/config: {{ $svc.config | toJson | sha256sum }}
      labels:
        {{- include "bench.selectorLabels" $ctx | nindent 8 }}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: app
          image: {{ $svc.image | quote }}
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: {{ $svc.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $svc.name }}-config
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 10
            periodSeconds: 10
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 5
          resources:
            {{- toYaml $.Values.resources | nindent 12 }}
          {{- if $svc.storage }}
          volumeMounts:
            - name: data
              mountPath: /data
          {{- end }}
      {{- if $svc.storage }}
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: {{ $svc.name }}-data
      {{- end }}
{{- end }}
"""


def values_yaml(services):
    l = ["# Generated by gen_workload.py (N=%d). One entry per service." % len(services),
         "namespace: %s" % NAMESPACE,
         "storageClassName: %s" % STORAGE_CLASS,
         "commonLabels:"]
    l += ind(["%s: %s" % (k, COMMON_LABELS[k]) for k in sorted(COMMON_LABELS)], 2)
    l.append("resources:")
    l += ind(yaml_map_lines(RESOURCES), 2)
    l.append("services:")
    for s in services:
        l.append("  - name: %s" % s["name"])
        l.append("    image: %s" % s["image"])
        l.append("    replicas: %d" % s["replicas"])
        l.append("    port: %d" % s["port"])
        if s["storage"]:
            l.append("    storage: %s" % s["storage"])
        l.append("    config:")
        for k in sorted(s["config"]):
            l.append("      %s: %s" % (k, go_quote(s["config"][k])))
    return "\n".join(l) + "\n"


def write_helm(root, services):
    os.makedirs(os.path.join(root, "templates"))
    files = {
        "Chart.yaml": CHART_YAML,
        "values.yaml": values_yaml(services),
        "templates/_helpers.tpl": HELPERS_TPL,
        "templates/configmap.yaml": CONFIGMAP_TPL,
        "templates/pvc.yaml": PVC_TPL,
        "templates/service.yaml": SERVICE_TPL,
        "templates/deployment.yaml": DEPLOYMENT_TPL,
    }
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)


# --------------------------------------------------------------------------
# kustomize tree
# --------------------------------------------------------------------------

def base_label_lines(s):
    # what the overlay's `labels:` transformer completes to label_lines()
    return ["app.kubernetes.io/name: %s" % s["name"],
            "app.kubernetes.io/instance: %s" % RELEASE,
            "app.kubernetes.io/part-of: %s" % CHART,
            "app.kubernetes.io/version: %s" % go_quote(s["version"])]


def base_selector_lines(s):
    return ["app.kubernetes.io/name: %s" % s["name"],
            "app.kubernetes.io/instance: %s" % RELEASE]


def base_service_file(s):
    """Deployment + Service (+ PVC) of one service, no namespace, base
    replicas, ConfigMap referenced by its generator name."""
    docs = []
    d = ["apiVersion: apps/v1", "kind: Deployment", "metadata:",
         "  name: %s" % s["name"], "  labels:"]
    d += ind(base_label_lines(s), 4)
    d += ["spec:",
          "  replicas: %d" % s["base_replicas"],
          "  revisionHistoryLimit: 5",
          "  selector:",
          "    matchLabels:"]
    d += ind(base_selector_lines(s), 6)
    d += ["  template:",
          "    metadata:",
          "      annotations:",
          "        checksum/config: %s" % config_checksum(s["config"]),
          "      labels:"]
    d += ind(base_selector_lines(s), 8)
    # the rest of the pod spec is identical to the helm output
    pod = plain_deployment(s).split("\n")
    d += pod[pod.index("    spec:"):]
    docs.append("\n".join(d))

    v = ["apiVersion: v1", "kind: Service", "metadata:",
         "  name: %s" % s["name"], "  labels:"]
    v += ind(base_label_lines(s), 4)
    v += ["spec:", "  type: ClusterIP", "  selector:"]
    v += ind(base_selector_lines(s), 4)
    v += ["  ports:", "    - name: http", "      port: 80",
          "      targetPort: http", "      protocol: TCP"]
    docs.append("\n".join(v))

    if s["storage"]:
        p = ["apiVersion: v1", "kind: PersistentVolumeClaim", "metadata:",
             "  name: %s-data" % s["name"], "  labels:"]
        p += ind(base_label_lines(s), 4)
        p += ["spec:", "  accessModes:", "    - ReadWriteOnce",
              "  storageClassName: %s" % STORAGE_CLASS,
              "  resources:", "    requests:", "      storage: %s" % s["storage"]]
        docs.append("\n".join(p))
    return "---\n".join(x + "\n" for x in docs)


def base_kustomization(services):
    l = ["apiVersion: kustomize.config.k8s.io/v1beta1",
         "kind: Kustomization",
         "resources:"]
    l += ["  - services/%s.yaml" % s["name"] for s in services]
    l.append("configMapGenerator:")
    for s in services:
        l.append("  - name: %s-config" % s["name"])
        l.append("    options:")
        l.append("      labels:")
        l += ind(base_label_lines(s), 8)
        l.append("    literals:")
        for k in sorted(s["config"]):
            l.append("      - %s=%s" % (k, s["config"][k]))
    return "\n".join(l) + "\n"


def prod_kustomization():
    l = ["apiVersion: kustomize.config.k8s.io/v1beta1",
         "kind: Kustomization",
         "namespace: %s" % NAMESPACE,
         "resources:",
         "  - ../../base",
         "labels:",
         "  - pairs:"]
    l += ind(["%s: %s" % (k, COMMON_LABELS[k]) for k in sorted(COMMON_LABELS)], 6)
    l += ["    includeSelectors: true",
          "patches:",
          "  - target:",
          "      group: apps",
          "      version: v1",
          "      kind: Deployment",
          "    patch: |-",
          "      - op: replace",
          "        path: /spec/replicas",
          "        value: %d" % PROD_REPLICAS]
    return "\n".join(l) + "\n"


def write_kustomize(root, services):
    base = os.path.join(root, "base")
    os.makedirs(os.path.join(base, "services"))
    os.makedirs(os.path.join(root, "overlays", "prod"))
    for s in services:
        with open(os.path.join(base, "services", s["name"] + ".yaml"), "w") as f:
            f.write(base_service_file(s))
    with open(os.path.join(base, "kustomization.yaml"), "w") as f:
        f.write(base_kustomization(services))
    with open(os.path.join(root, "overlays", "prod", "kustomization.yaml"), "w") as f:
        f.write(prod_kustomization())


# --------------------------------------------------------------------------
# infra project
# --------------------------------------------------------------------------

def infra_params(services):
    l = ["params:",
         "  namespace: default",
         "  storageClassName: %s" % STORAGE_CLASS,
         "  replicas: 1",
         "  commonLabels: {}",
         "  resources:"]
    l += ind(yaml_map_lines(RESOURCES), 4)
    l.append("  services:")
    for s in services:
        l.append("    - name: %s" % s["name"])
        l.append("      image: %s" % s["image"])
        l.append("      version: %s" % go_quote(s["version"]))
        l.append("      port: %d" % s["port"])
        l.append("      storage: %s" % (s["storage"] or '""'))
        l.append("      config:")
        for k in sorted(s["config"]):
            l.append("        %s: %s" % (k, go_quote(s["config"][k])))
    return l


INFRA_SERVICES = """\
infra:
  for_each: ${{ params.services }}
  hash: suffix
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${{ item.name }}-config
  namespace: ${{ params.namespace }}
  labels:
    app.kubernetes.io/name: ${{ item.name }}
    app.kubernetes.io/instance: bench
    app.kubernetes.io/part-of: bench
    app.kubernetes.io/version: ${{ item.version }}
data: ${{ item.config }}
---
infra:
  for_each: ${{ params.services }}
  when: ${{ item.storage != "" }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${{ item.name }}-data
  namespace: ${{ params.namespace }}
  labels:
    app.kubernetes.io/name: ${{ item.name }}
    app.kubernetes.io/instance: bench
    app.kubernetes.io/part-of: bench
    app.kubernetes.io/version: ${{ item.version }}
spec:
  accessModes:
    - ReadWriteOnce
  storageClassName: ${{ params.storageClassName }}
  resources:
    requests:
      storage: ${{ item.storage }}
---
infra:
  for_each: ${{ params.services }}
apiVersion: v1
kind: Service
metadata:
  name: ${{ item.name }}
  namespace: ${{ params.namespace }}
  labels:
    app.kubernetes.io/name: ${{ item.name }}
    app.kubernetes.io/instance: bench
    app.kubernetes.io/part-of: bench
    app.kubernetes.io/version: ${{ item.version }}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: ${{ item.name }}
    app.kubernetes.io/instance: bench
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP
"""

INFRA_DEPLOYMENT = """\
infra:
  for_each: ${{ params.services }}
  when: ${{ %(cond)s }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${{ item.name }}
  namespace: ${{ params.namespace }}
  labels:
    app.kubernetes.io/name: ${{ item.name }}
    app.kubernetes.io/instance: bench
    app.kubernetes.io/part-of: bench
    app.kubernetes.io/version: ${{ item.version }}
spec:
  replicas: ${{ params.replicas }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: ${{ item.name }}
      app.kubernetes.io/instance: bench
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${{ item.name }}
        app.kubernetes.io/instance: bench
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: app
          image: ${{ item.image }}
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: ${{ item.port }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: ${{ item.name }}-config
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 10
            periodSeconds: 10
          readinessProbe:
            httpGet:
              path: /ready
              port: http
            periodSeconds: 5
          resources: ${{ params.resources }}
%(mounts)s"""

INFRA_MOUNTS = """\
          volumeMounts:
            - name: data
              mountPath: /data
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: ${{ item.name }}-data
"""

INFRA_PROD = """\
params:
  namespace: %s
  replicas: %d
  commonLabels:
%s
patches:
  - target: {kind: Deployment}
    merge:
      spec:
        selector:
          matchLabels: ${{ params.commonLabels }}
        template:
          metadata:
            labels: ${{ params.commonLabels }}
"""


def write_infra(root, services):
    os.makedirs(os.path.join(root, "manifests"))
    project = ["# Generated by gen_workload.py (N=%d)." % len(services), "name: bench"]
    project += infra_params(services)
    project += ["resources:", "  - manifests/*.yaml",
                "hashing: suffix",
                "environments:", "  prod: envs/prod.yaml"]
    files = {
        "infra.yaml": "\n".join(project) + "\n",
        "manifests/services.yaml": INFRA_SERVICES,
        "manifests/deployments.yaml": (INFRA_DEPLOYMENT % {"cond": 'item.storage == ""', "mounts": ""}) + "---\n"
                                      + INFRA_DEPLOYMENT % {"cond": 'item.storage != ""', "mounts": INFRA_MOUNTS},
        "envs/prod.yaml": INFRA_PROD % (NAMESPACE, PROD_REPLICAS,
                                        "\n".join("    %s: %s" % (k, COMMON_LABELS[k]) for k in sorted(COMMON_LABELS))),
    }
    os.makedirs(os.path.join(root, "envs"))
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)


# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of services")
    ap.add_argument("outdir", help="output directory (helm/ and kustomize/ inside are replaced)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    a = ap.parse_args(argv)
    if a.n < 1:
        ap.error("N must be >= 1")

    services = build_services(a.n, a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    for sub in ("helm", "kustomize", "infra"):
        p = os.path.join(a.outdir, sub)
        if os.path.exists(p):
            shutil.rmtree(p)
    write_helm(os.path.join(a.outdir, "helm"), services)
    write_kustomize(os.path.join(a.outdir, "kustomize"), services)
    write_infra(os.path.join(a.outdir, "infra"), services)

    docs = expected_docs(services)
    plain = "".join("---\n" + text + "\n" for _, text in docs)
    with open(os.path.join(a.outdir, "expected-plain.yaml"), "w") as f:
        f.write(plain)

    kinds = {}
    for k, _ in docs:
        kinds[k] = kinds.get(k, 0) + 1
    info = {
        "n": a.n,
        "seed": a.seed,
        "documents": len(docs),
        "kinds": kinds,
        "expected_plain_bytes": len(plain.encode()),
        "expected_plain_sha256": hashlib.sha256(plain.encode()).hexdigest(),
        "helm_cmd": "helm template bench ./helm",
        "kustomize_cmd": "kubectl kustomize ./kustomize/overlays/prod",
        "infra_cmd": "infra build ./infra --env prod -o -",
    }
    with open(os.path.join(a.outdir, "workload.json"), "w") as f:
        json.dump(info, f, indent=2, sort_keys=True)
        f.write("\n")
    print(json.dumps(info, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
