{{/* Names, labels, image references and the API versions that differ between Kubernetes 1.20 and today. */}}

{{- define "cocus-mvp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "cocus-mvp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A component's resource name: FULLNAME-SUFFIX, at most 63 characters. */}}
{{- define "cocus-mvp.componentName" -}}
{{- printf "%s-%s" (include "cocus-mvp.fullname" .root | trunc (int (sub 62 (len .suffix))) | trimSuffix "-") .suffix }}
{{- end }}

{{- define "cocus-mvp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cocus-mvp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cocus-mvp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cocus-mvp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels of a component: (dict "root" $ "component" "api") */}}
{{- define "cocus-mvp.componentLabels" -}}
{{ include "cocus-mvp.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "cocus-mvp.componentSelector" -}}
{{ include "cocus-mvp.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* REPOSITORY@DIGEST, or REPOSITORY:TAG (tag defaults to the chart's appVersion): (dict "image" … "root" $) */}}
{{- define "cocus-mvp.image" -}}
{{- if .image.digest }}
{{- printf "%s@%s" .image.repository .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{- define "cocus-mvp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cocus-mvp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
API versions. `helm template` assumes every API its own client library knows, whatever --kube-version says,
so the version check stands beside the discovery check: autoscaling/v2 and policy/v1 arrived in 1.23 and 1.21.
*/}}
{{- define "cocus-mvp.hpaApiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "autoscaling/v2") (semverCompare ">=1.23-0" .Capabilities.KubeVersion.Version) -}}
autoscaling/v2
{{- else -}}
autoscaling/v2beta2
{{- end }}
{{- end }}

{{- define "cocus-mvp.pdbApiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "policy/v1") (semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version) -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end }}
{{- end }}

{{- define "cocus-mvp.httpRouteApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "gateway.networking.k8s.io/v1/HTTPRoute" -}}
gateway.networking.k8s.io/v1
{{- else -}}
gateway.networking.k8s.io/v1beta1
{{- end }}
{{- end }}

{{/* Settings of a track: "stable" is .Values.api; "canary" replaces api's top-level keys with canary.api's. */}}
{{- define "cocus-mvp.trackApi" -}}
{{- $api := deepCopy .root.Values.api }}
{{- if eq .track "canary" }}
{{- range $key, $value := .root.Values.canary.api }}
{{- $_ := set $api $key $value }}
{{- end }}
{{- end }}
{{- toYaml $api }}
{{- end }}

{{/* Resource name of a track's objects: FULLNAME (stable) or FULLNAME-canary. */}}
{{- define "cocus-mvp.trackName" -}}
{{- if eq .track "stable" }}
{{- include "cocus-mvp.fullname" .root }}
{{- else }}
{{- include "cocus-mvp.componentName" (dict "root" .root "suffix" .track) }}
{{- end }}
{{- end }}

{{- define "cocus-mvp.redisName" -}}
{{- include "cocus-mvp.componentName" (dict "root" . "suffix" "redis") }}
{{- end }}

{{- define "cocus-mvp.prometheusName" -}}
{{- include "cocus-mvp.componentName" (dict "root" . "suffix" "prometheus") }}
{{- end }}

{{- define "cocus-mvp.grafanaName" -}}
{{- include "cocus-mvp.componentName" (dict "root" . "suffix" "grafana") }}
{{- end }}

{{/* The tracks that run: stable always, canary while canary.enabled. */}}
{{- define "cocus-mvp.tracks" -}}
{{- if .Values.canary.enabled }}stable canary{{ else }}stable{{ end }}
{{- end }}
