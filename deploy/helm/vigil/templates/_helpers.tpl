{{/*
Names. Kubernetes names are at most 63 characters; component names append a
suffix of up to 17 characters ("-agent-enrollment"), so the prefix is cut to 46.
*/}}
{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* vigil.prefix: the full name, short enough for any component suffix. */}}
{{- define "vigil.prefix" -}}
{{- include "vigil.fullname" . | trunc 46 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.serverName" -}}{{ include "vigil.prefix" . }}-server{{- end -}}
{{- define "vigil.agentName" -}}{{ include "vigil.prefix" . }}-agent{{- end -}}
{{- define "vigil.apiServiceName" -}}{{ include "vigil.prefix" . }}-api{{- end -}}
{{- define "vigil.gatewayServiceName" -}}{{ include "vigil.prefix" . }}-gateway{{- end -}}

{{/* vigil.adminSecretName: the Secret holding the admin bootstrap password. */}}
{{- define "vigil.adminSecretName" -}}
{{- if .Values.server.admin.existingSecret -}}
{{- .Values.server.admin.existingSecret -}}
{{- else -}}
{{- include "vigil.prefix" . }}-admin
{{- end -}}
{{- end -}}

{{- define "vigil.adminSecretKey" -}}
{{- if .Values.server.admin.existingSecret -}}
{{- .Values.server.admin.existingSecretKey -}}
{{- else -}}
password
{{- end -}}
{{- end -}}

{{/* vigil.storeSecretName: the Secret holding the PostgreSQL URL. */}}
{{- define "vigil.storeSecretName" -}}
{{- if .Values.server.store.postgres.existingSecret -}}
{{- .Values.server.store.postgres.existingSecret -}}
{{- else -}}
{{- include "vigil.prefix" . }}-store
{{- end -}}
{{- end -}}

{{- define "vigil.storeSecretKey" -}}
{{- if .Values.server.store.postgres.existingSecret -}}
{{- .Values.server.store.postgres.existingSecretKey -}}
{{- else -}}
url
{{- end -}}
{{- end -}}

{{/* vigil.enrollmentSecretName: the Secret with the agents' token and CA pin. */}}
{{- define "vigil.enrollmentSecretName" -}}
{{- if .Values.agent.enrollment.existingSecret -}}
{{- .Values.agent.enrollment.existingSecret -}}
{{- else -}}
{{- include "vigil.prefix" . }}-agent-enrollment
{{- end -}}
{{- end -}}

{{/* vigil.serverAddress: where agents dial the gateway. */}}
{{- define "vigil.serverAddress" -}}
{{- if .Values.agent.serverAddress -}}
{{- .Values.agent.serverAddress -}}
{{- else -}}
{{- printf "%s.%s.svc:%v" (include "vigil.gatewayServiceName" .) .Release.Namespace .Values.server.service.gateway.port -}}
{{- end -}}
{{- end -}}

{{/* vigil.image: repository:tag or repository@digest. Call with (dict "root" $ "image" .Values.x.image). */}}
{{- define "vigil.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Labels. Call the component variants with (dict "root" $ "component" "server"). */}}
{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- end -}}

{{- define "vigil.componentSelectorLabels" -}}
{{ include "vigil.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "vigil.componentLabels" -}}
{{ include "vigil.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
