{{/* The objects' name: fixed, not the release's (see nameOverride in values.yaml). */}}
{{- define "tcpscope.name" -}}
{{- default "tcpscope" .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels: only app.kubernetes.io/name, no release- or chart-version labels, so that the default
values render exactly the objects of deploy/kubernetes (test/deploy/manifests.test.ts).
*/}}
{{- define "tcpscope.labels" -}}
app.kubernetes.io/name: {{ include "tcpscope.name" . }}
{{- end -}}

{{/* Receivers turned on, in a fixed order. */}}
{{- define "tcpscope.enabledReceivers" -}}
{{- $on := list -}}
{{- range $name := list "tcp_lifecycle" "tcp_handshake" "tcp_rtt" -}}
{{- $r := index $.Values.receivers $name -}}
{{- if $r.enabled -}}{{- $on = append $on $name -}}{{- end -}}
{{- end -}}
{{- toJson $on -}}
{{- end -}}
