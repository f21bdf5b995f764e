{{/* The chart's name. */}}
{{- define "kflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A release-qualified name; room is left for suffixes like -operator. */}}
{{- define "kflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kflow.labels" -}}
helm.sh/chart: {{ include "kflow.chart" . }}
{{ include "kflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kflow
{{- end }}

{{- define "kflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The one image of the operator and the runner pods. */}}
{{- define "kflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{- define "kflow.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (printf "%s-operator" (include "kflow.fullname" .)) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kflow.runnerServiceAccountName" -}}
{{- default (printf "%s-runner" (include "kflow.fullname" .)) .Values.runner.serviceAccount.name }}
{{- end }}

{{/* The namespaces the runner service account is created in: the release's and the watched ones. */}}
{{- define "kflow.runnerNamespaces" -}}
{{- $all := list .Release.Namespace }}
{{- range .Values.namespaces }}
{{- $all = append $all . }}
{{- end }}
{{- $all | uniq | toJson }}
{{- end }}

{{/* The Lease the operator replicas elect their leader on, in the release namespace. */}}
{{- define "kflow.leaseName" -}}
{{- printf "%s-operator" (include "kflow.fullname" .) }}
{{- end }}
