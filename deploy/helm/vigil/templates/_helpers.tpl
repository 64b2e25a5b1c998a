{{/* Names, labels and the shared pod template of the Vigil chart. */}}

{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-wide name; kept short enough for "-headless" and "-accelerator". */}}
{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 45 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vigil.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "vigil.fullname" .)) .Values.tls.secretName -}}
{{- end -}}

{{/* Host part of a listen address: IPv6 in brackets. */}}
{{- define "vigil.listenHost" -}}
{{- if contains ":" .Values.listenAddress -}}
[{{ .Values.listenAddress }}]
{{- else -}}
{{ .Values.listenAddress }}
{{- end -}}
{{- end -}}

{{/* Refuses value combinations the daemon would refuse, with a message that says why. */}}
{{- define "vigil.validate" -}}
{{- if and (not .Values.tls.enabled) (not .Values.insecurePlaintext) -}}
{{- fail "tls.enabled is false and insecurePlaintext is false: vigil serve refuses plaintext gRPC on a pod address. Enable TLS (tls.enabled) or accept plaintext (insecurePlaintext: true)." -}}
{{- end -}}
{{- if and .Values.tls.mutual (not .Values.tls.enabled) -}}
{{- fail "tls.mutual needs tls.enabled" -}}
{{- end -}}
{{- if and .Values.tls.certManager.enabled (not .Values.tls.enabled) -}}
{{- fail "tls.certManager.enabled needs tls.enabled" -}}
{{- end -}}
{{- if and .Values.tls.certManager.enabled (not .Values.tls.certManager.issuerRef.name) -}}
{{- fail "tls.certManager.issuerRef.name is required when tls.certManager.enabled" -}}
{{- end -}}
{{- if and (not .Values.daemonset.enabled) (not .Values.deployment.enabled) -}}
{{- fail "neither daemonset.enabled nor deployment.enabled: nothing to run" -}}
{{- end -}}
{{- if and .Values.monitoring.serviceMonitor.enabled .Values.monitoring.podMonitor.enabled -}}
{{- fail "enable monitoring.serviceMonitor or monitoring.podMonitor, not both (every pod would be scraped twice)" -}}
{{- end -}}
{{- end -}}

{{/* A TOML line `key = <integer>` for each non-null value of a map, keys sorted. */}}
{{- define "vigil.tomlInts" -}}
{{- range $key, $value := . }}
{{- if not (kindIs "invalid" $value) }}
{{ $key }} = {{ int64 $value }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The daemon's settings file. */}}
{{- define "vigil.toml" -}}
{{- $c := .Values.config -}}
# vigil serve settings, rendered by the vigil Helm chart from its values.
listen = {{ printf "%s:%d" (include "vigil.listenHost" .) (int .Values.ports.grpc) | toJson }}
metrics_listen = {{ printf "%s:%d" (include "vigil.listenHost" .) (int .Values.ports.metrics) | toJson }}
backends = {{ $c.backends | toJson }}
insecure_plaintext = {{ not .Values.tls.enabled }}
shutdown_grace_secs = {{ int64 $c.shutdownGraceSecs }}
{{- include "vigil.tomlInts" (dict "threads" $c.threads "io_threads" $c.ioThreads "max_message_bytes" $c.maxMessageBytes) }}
{{- if .Values.tls.enabled }}

[tls]
cert = "/etc/vigil/tls/tls.crt"
key = "/etc/vigil/tls/tls.key"
{{- if .Values.tls.mutual }}
client_ca = "/etc/vigil/tls/client-ca.crt"
{{- end }}
{{- end }}

[queue]
{{- $q := $c.queue }}
{{- include "vigil.tomlInts" (dict "signatures" $q.signatures "bytes" $q.bytes "max_batch_signatures" $q.maxBatchSignatures "coalesce_delay_us" $q.coalesceDelayUs "small_batch_signatures" $q.smallBatchSignatures "max_in_flight_batches" $q.maxInFlightBatches) }}

[limits]
{{- $l := $c.limits }}
{{- include "vigil.tomlInts" (dict "connections" $l.connections "connections_per_ip" $l.connectionsPerIp "streams_per_connection" $l.streamsPerConnection "handshake_timeout_ms" $l.handshakeTimeoutMs "idle_timeout_secs" $l.idleTimeoutSecs "proofs" $l.proofs "request_transactions" $l.requestTransactions) }}
{{ end -}}

{{/* One probe's handler: gRPC health when plaintext, GET /healthz when TLS. */}}
{{- define "vigil.probeHandler" -}}
{{- if .Values.tls.enabled }}
httpGet:
  path: /healthz
  port: metrics
  scheme: HTTP
{{- else }}
grpc:
  port: {{ int .Values.ports.grpc }}
  {{- with .Values.probes.grpcService }}
  service: {{ . | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
The pod template of both workloads. Called with a dict: root (the chart's context),
component ("accelerator" or "cpu") and w (the workload's values).
*/}}
{{- define "vigil.podTemplate" -}}
{{- $root := .root -}}
{{- $w := .w -}}
{{- $v := $root.Values -}}
metadata:
  labels:
    {{- include "vigil.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "vigil.toml" $root | sha256sum }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "vigil.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $v.serviceAccount.automountServiceAccountToken }}
  terminationGracePeriodSeconds: {{ add (int64 $v.config.shutdownGraceSecs) (int64 $v.terminationGraceMarginSeconds) }}
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $w.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- with $w.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml $v.podSecurityContext | nindent 4 }}
  {{- with $w.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $w.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $w.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $w.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: vigil
      image: {{ printf "%s:%s" $v.image.repository ($v.image.tag | default $root.Chart.AppVersion) | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy }}
      command: ["/usr/local/bin/vigil"]
      args:
        - serve
        - --config
        - /etc/vigil/vigil.toml
        {{- with $w.backends }}
        - --backend
        - {{ join "," . | quote }}
        {{- end }}
        {{- range $v.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: VIGIL_LOG_FORMAT
          value: {{ $v.logFormat | quote }}
        - name: VIGIL_CACHE_DIR
          value: /var/cache/vigil
        - name: CUDA_CACHE_PATH
          value: /var/cache/vigil/cuda-jit
        - name: HOME
          value: /tmp
        {{- if eq .component "cpu" }}
        # The image says NVIDIA_VISIBLE_DEVICES=all; a pod that asked for no GPU must not
        # get every GPU of its node where the NVIDIA runtime is the default one.
        - name: NVIDIA_VISIBLE_DEVICES
          value: void
        {{- end }}
        {{- with $v.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: grpc
          containerPort: {{ int $v.ports.grpc }}
          protocol: TCP
        - name: metrics
          containerPort: {{ int $v.ports.metrics }}
          protocol: TCP
      startupProbe:
        {{- include "vigil.probeHandler" $root | trim | nindent 8 }}
        periodSeconds: {{ int $v.probes.startup.periodSeconds }}
        timeoutSeconds: {{ int $v.probes.startup.timeoutSeconds }}
        failureThreshold: {{ int $v.probes.startup.failureThreshold }}
      readinessProbe:
        {{- include "vigil.probeHandler" $root | trim | nindent 8 }}
        periodSeconds: {{ int $v.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ int $v.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ int $v.probes.readiness.failureThreshold }}
        successThreshold: {{ int $v.probes.readiness.successThreshold }}
      livenessProbe:
        {{- include "vigil.probeHandler" $root | trim | nindent 8 }}
        periodSeconds: {{ int $v.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ int $v.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ int $v.probes.liveness.failureThreshold }}
      {{- with $w.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $v.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/vigil/vigil.toml
          subPath: vigil.toml
          readOnly: true
        - name: cache
          mountPath: /var/cache/vigil
        - name: tmp
          mountPath: /tmp
        {{- if $v.tls.enabled }}
        - name: tls
          mountPath: /etc/vigil/tls
          readOnly: true
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "vigil.fullname" $root }}
    - name: cache
      emptyDir:
        {{- with $v.cache.medium }}
        medium: {{ . }}
        {{- end }}
        sizeLimit: {{ $v.cache.sizeLimit }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if $v.tls.enabled }}
    - name: tls
      projected:
        # 0440: readable by the pod's fsGroup (the daemon's group), not by others.
        defaultMode: 288
        sources:
          - secret:
              name: {{ include "vigil.tlsSecretName" $root }}
              items:
                - key: tls.crt
                  path: tls.crt
                - key: tls.key
                  path: tls.key
          {{- if $v.tls.mutual }}
          - secret:
              name: {{ default (include "vigil.tlsSecretName" $root) $v.tls.clientCa.secretName }}
              items:
                - key: {{ $v.tls.clientCa.key }}
                  path: client-ca.crt
          {{- end }}
    {{- end }}
{{- end -}}
