{{/* The chart's name, overridable for forks. */}}
{{- define "gameday.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name: the release name when it already says gameday. */}}
{{- define "gameday.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gameday.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gameday.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "gameday.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | trunc 63 | trimSuffix "-" }}
{{ include "gameday.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "gameday.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "gameday.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "gameday.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* gameday recover's arguments for the watchdog: only expired marks, in
     the namespaces the chart's Roles cover but the kill switch's (where
     gameday marks nothing); cluster-wide without any Role. */}}
{{- define "gameday.watchdogArgs" -}}
- recover
- --expired
{{- range .Values.rbac.roles }}
{{- if ne .namespace $.Values.haltNamespace }}
- --namespace
- {{ .namespace }}
{{- end }}
{{- end }}
{{- if .Values.watchdog.nodes }}
- --nodes
{{- end }}
{{- end -}}

{{/*
The pod spec every gameday container runs with. Takes a dict:
root (the top-level context), component, restartPolicy, args (YAML list
text) and optionally port.
*/}}
{{- define "gameday.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "gameday.serviceAccountName" $root }}
# In-cluster mode reads the ServiceAccount token, CA and namespace.
automountServiceAccountToken: true
restartPolicy: {{ .restartPolicy }}
terminationGracePeriodSeconds: {{ $root.Values.cronJob.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ .component }}
    image: {{ include "gameday.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    command: [gameday]
    args:
      {{- .args | nindent 6 }}
    env:
      - name: GAMEDAY_CONFIG
        value: /etc/gameday/gameday.yaml
      - name: GAMEDAY_CLUSTER_NAME
        value: {{ $root.Values.clusterName | quote }}
      {{- if $root.Values.history.existingSecret }}
      - name: GAMEDAY_HISTORY_DB
        valueFrom:
          secretKeyRef:
            name: {{ $root.Values.history.existingSecret }}
            key: {{ $root.Values.history.secretKey }}
      {{- end }}
      # The root filesystem is read-only: home and scratch live on /tmp.
      - name: HOME
        value: /tmp
    {{- if .port }}
    ports:
      - name: metrics
        containerPort: {{ .port }}
        protocol: TCP
    {{- end }}
    resources:
      {{- toYaml $root.Values.resources | nindent 6 }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    volumeMounts:
      - name: config
        mountPath: /etc/gameday
        readOnly: true
      - name: runs
        mountPath: /var/lib/gameday
      - name: tmp
        mountPath: /tmp
volumes:
  - name: config
    projected:
      sources:
        - configMap:
            name: {{ include "gameday.fullname" $root }}-config
        {{- with $root.Values.scenarios.existingConfigMap }}
        - configMap:
            name: {{ . }}
        {{- end }}
  - name: runs
    {{- if $root.Values.runVolume.existingClaim }}
    persistentVolumeClaim:
      claimName: {{ $root.Values.runVolume.existingClaim }}
    {{- else }}
    emptyDir:
      sizeLimit: {{ $root.Values.runVolume.sizeLimit }}
    {{- end }}
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end -}}

{{/* The subcommand for one schedule: a kind: Drill file runs as a drill. */}}
{{- define "gameday.command" -}}
{{- if eq (.kind | default "Scenario") "Drill" -}}drill{{- else -}}run{{- end -}}
{{- end -}}
