{{/* Release-scoped base name for every object. */}}
{{- define "imprimatur.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "imprimatur.serviceName" -}}{{ include "imprimatur.fullname" . }}{{- end -}}
{{- define "imprimatur.tlsName" -}}{{ include "imprimatur.fullname" . }}-tls{{- end -}}
{{- define "imprimatur.configName" -}}{{ include "imprimatur.fullname" . }}-config{{- end -}}
{{- define "imprimatur.alertTemplatesName" -}}{{ include "imprimatur.fullname" . }}-alert-templates{{- end -}}
{{- define "imprimatur.serviceAccountName" -}}{{ include "imprimatur.fullname" . }}{{- end -}}
{{- define "imprimatur.namespaceLabel" -}}imprimatur.dev/webhook{{- end -}}
{{- define "imprimatur.keyName" -}}
{{- (.Values.kubernetes.integrityKey | default dict).existingSecret | default (printf "%s-integrity-key" (include "imprimatur.fullname" .)) -}}
{{- end -}}

{{- define "imprimatur.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "imprimatur.labels" -}}
{{ include "imprimatur.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.kubernetes.additionalLabels }}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{- define "imprimatur.image" -}}
{{- $img := .Values.kubernetes.deployment.image -}}
{{- if $img.digest -}}
{{ $img.repository }}@{{ $img.digest }}
{{- else -}}
{{ $img.repository }}:{{ $img.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* Is automatic child approval on? (default true, as in the program) */}}
{{- define "imprimatur.childApproval" -}}
{{- $f := .Values.application.features | default dict -}}
{{- if hasKey $f "automaticChildApproval" -}}{{ $f.automaticChildApproval }}{{- else -}}true{{- end -}}
{{- end -}}

{{/* Does a validator read workloads' pull secrets (auth.fromWorkload: true)? Then the webhook needs get on Secrets and ServiceAccounts. */}}
{{- define "imprimatur.workloadCredentials" -}}
{{- $on := false -}}
{{- range .Values.application.validators -}}
{{- if and (kindIs "map" .auth) (eq (toString (.auth.fromWorkload | default false)) "true") -}}{{- $on = true -}}{{- end -}}
{{- end -}}
{{- $on -}}
{{- end -}}

{{/* Names of the registry Secrets the validators reference (auth.secretName), unique, as a YAML list. */}}
{{- define "imprimatur.authSecrets" -}}
{{- $names := list -}}
{{- range .Values.application.validators -}}
{{- if and (kindIs "map" .auth) .auth.secretName -}}
{{- $names = append $names .auth.secretName -}}
{{- end -}}
{{- end -}}
{{- dict "names" ($names | uniq) | toYaml -}}
{{- end -}}

{{/*
kubernetes.deployment.envs as container env entries. A value is a literal (string, number, bool) or, for secrets,
a Kubernetes EnvVarSource under `valueFrom` (secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef):
  envs:
    HTTPS_PROXY: http://proxy.internal:3128
    SYSDIG_SECURE_API_TOKEN:
      valueFrom:
        secretKeyRef: {name: imprimatur-alerting, key: sysdig-token}
Names the chart sets itself are refused (two entries with one name: Kubernetes silently keeps the last).
*/}}
{{- define "imprimatur.envs" -}}
{{- $d := .Values.kubernetes.deployment -}}
{{- $reserved := dict "IMPRIMATUR_SECRETS_DIR" "always" "POD_NAME" "always (the pod's name, for alerts)" "POD_NAMESPACE" "always (the release namespace, for the in-cluster audit)" -}}
{{- if $d.heapLimitMiB }}{{ $_ := set $reserved "NODE_OPTIONS" "from kubernetes.deployment.heapLimitMiB (set that to 0 to set NODE_OPTIONS here)" }}{{ end -}}
{{- if .Values.kubernetes.alertTemplates }}{{ $_ := set $reserved "IMPRIMATUR_TEMPLATE_DIRS" "for kubernetes.alertTemplates" }}{{ end -}}
{{- with .Values.kubernetes.redis }}{{ if or .url .urlSecret }}{{ $_ := set $reserved "REDIS_URL" "from kubernetes.redis.url or urlSecret" }}{{ end }}{{ end -}}
{{- range $name, $v := ($d.envs | default dict) }}
{{- if hasKey $reserved $name }}
{{- fail (printf "kubernetes.deployment.envs.%s: the chart sets %s itself, %s; remove it from envs" $name $name (get $reserved $name)) }}
{{- end }}
- name: {{ $name }}
{{- if kindIs "map" $v }}
{{- if and (hasKey $v "valueFrom") (eq (len $v) 1) (kindIs "map" $v.valueFrom) }}
  valueFrom:
    {{- toYaml $v.valueFrom | nindent 4 }}
{{- else if and (hasKey $v "value") (eq (len $v) 1) }}
  value: {{ $v.value | toString | quote }}
{{- else }}
{{- fail (printf "kubernetes.deployment.envs.%s: write a literal value, or valueFrom: {secretKeyRef: {name: <secret>, key: <key>}} (got keys: %s)" $name (keys $v | sortAlpha | join ", ")) }}
{{- end }}
{{- else if kindIs "slice" $v }}
{{- fail (printf "kubernetes.deployment.envs.%s: a list is not a value; write a literal, or valueFrom: {secretKeyRef: {name: <secret>, key: <key>}}" $name) }}
{{- else }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The program's config file: the application and alerting sections of the values. */}}
{{- define "imprimatur.configFile" -}}
{{- $cfg := dict "application" .Values.application -}}
{{- with .Values.alerting }}{{ $_ := set $cfg "alerting" . }}{{ end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Changes whenever a mounted input changes, so `helm upgrade` rolls the pods. */}}
{{- define "imprimatur.configChecksum" -}}
{{- $parts := list (include "imprimatur.configFile" .) (toYaml .Values.kubernetes.alertTemplates) (toYaml .Values.kubernetes.deployment.tls) (include "imprimatur.authSecrets" .) -}}
{{- join "\n---\n" $parts | sha256sum -}}
{{- end -}}

{{/*
Serving certificate, base64-encoded, as YAML {cert, key, ca}:
1. kubernetes.deployment.tls.cert/key (ca defaults to cert), else
2. the existing <fullname>-tls Secret (lookup; so upgrades keep the certificate), else
3. a new CA (10 years) and a certificate signed by it for the Service's DNS names.
*/}}
{{- define "imprimatur.tls" -}}
{{- $tls := .Values.kubernetes.deployment.tls | default dict -}}
{{- $svc := include "imprimatur.serviceName" . -}}
{{- $ns := .Release.Namespace -}}
{{- if or $tls.cert $tls.key -}}
{{- $cert := required "kubernetes.deployment.tls.cert is required with tls.key" $tls.cert -}}
{{- $key := required "kubernetes.deployment.tls.key is required with tls.cert" $tls.key -}}
cert: {{ $cert | b64enc }}
key: {{ $key | b64enc }}
ca: {{ $tls.ca | default $cert | b64enc }}
{{- else -}}
{{- $existing := lookup "v1" "Secret" $ns (include "imprimatur.tlsName" .) -}}
{{- if and $existing $existing.data (index $existing.data "tls.crt") (index $existing.data "tls.key") -}}
cert: {{ index $existing.data "tls.crt" }}
key: {{ index $existing.data "tls.key" }}
ca: {{ index $existing.data "ca.crt" | default (index $existing.data "tls.crt") }}
{{- else -}}
{{- $ca := genCA (printf "%s-ca" $svc) 3650 -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- $crt := genSignedCert (printf "%s.%s.svc" $svc $ns) nil $names 3650 $ca -}}
cert: {{ $crt.Cert | b64enc }}
key: {{ $crt.Key | b64enc }}
ca: {{ $ca.Cert | b64enc }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The workload kinds every webhook entry receives, for CREATE and UPDATE. */}}
{{- define "imprimatur.webhookRules" -}}
- operations: ["CREATE", "UPDATE"]
  apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods", "pods/ephemeralcontainers", "replicationcontrollers"]
  scope: Namespaced
- operations: ["CREATE", "UPDATE"]
  apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["deployments", "replicasets", "daemonsets", "statefulsets"]
  scope: Namespaced
- operations: ["CREATE", "UPDATE"]
  apiGroups: ["batch"]
  apiVersions: ["v1", "v1beta1"]
  resources: ["jobs", "cronjobs"]
  scope: Namespaced
{{- end -}}

{{/*
The namespaceSelector of a webhook entry; call with (dict "root" $ "mode" "enforce"|"detect").
Never kube-system, the release namespace or kubernetes.webhook.excludedNamespaces (the webhook cannot deadlock
the control plane or itself). Label imprimatur.dev/webhook:
  namespacedValidation.mode ignore (default): every namespace except `ignore`; `detect` goes to the detect entry;
  namespacedValidation.mode validate: only `validate` (enforce entry) and `detect` (detect entry).
With kubernetes.webhook.allowNamespaceDetection false there is no detect entry and `detect` is enforced.
`imprimatur audit` and the in-cluster audit apply the same selection (src/audit/namespaces.ts).
*/}}
{{- define "imprimatur.namespaceSelector" -}}
{{- $root := .root -}}
{{- $features := $root.Values.application.features | default dict -}}
{{- $nsMode := (($features.namespacedValidation | default dict).mode | default "ignore") -}}
{{- $label := include "imprimatur.namespaceLabel" $root -}}
{{- $detection := eq (include "imprimatur.namespaceDetection" $root) "true" -}}
matchExpressions:
  # Never the control plane nor Imprimatur's own namespace: the webhook cannot deadlock either.
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- include "imprimatur.excludedNamespaces" $root | nindent 6 }}
  - key: {{ $label }}
  {{- if eq .mode "detect" }}
    operator: In
    values: ["detect"]
  {{- else if eq $nsMode "validate" }}
    operator: In
    values: {{ if $detection }}["validate"]{{ else }}["validate", "detect"]{{ end }}
  {{- else }}
    operator: NotIn
    values: {{ if $detection }}["ignore", "detect"]{{ else }}["ignore"]{{ end }}
  {{- end }}
{{- end -}}

{{/* Does the label value `detect` put a namespace in detection? (kubernetes.webhook.allowNamespaceDetection, default true) */}}
{{- define "imprimatur.namespaceDetection" -}}
{{- $wh := .Values.kubernetes.webhook | default dict -}}
{{- if hasKey $wh "allowNamespaceDetection" -}}{{ $wh.allowNamespaceDetection }}{{- else -}}true{{- end -}}
{{- end -}}

{{/* Namespaces never sent to the webhook, as a YAML list: kube-system, the release namespace, excludedNamespaces. */}}
{{- define "imprimatur.excludedNamespaces" -}}
{{- $wh := .Values.kubernetes.webhook | default dict -}}
{{- toYaml (concat (list "kube-system" .Release.Namespace) ($wh.excludedNamespaces | default list) | uniq) -}}
{{- end -}}

{{/* Kubernetes Events for denials (kubernetes.events.enabled, default true). */}}
{{- define "imprimatur.events" -}}
{{- $e := .Values.kubernetes.events | default dict -}}
{{- if hasKey $e "enabled" -}}{{ $e.enabled }}{{- else -}}true{{- end -}}
{{- end -}}

{{/* The in-cluster audit (kubernetes.audit.enabled, default false). */}}
{{- define "imprimatur.audit" -}}
{{- $a := .Values.kubernetes.audit | default dict -}}
{{- if $a.enabled -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/* The in-cluster audit writes PolicyReports (kubernetes.audit.policyReports.enabled, default true). */}}
{{- define "imprimatur.auditPolicyReports" -}}
{{- $a := .Values.kubernetes.audit | default dict -}}
{{- $p := $a.policyReports | default dict -}}
{{- if and $a.enabled (or (not (hasKey $p "enabled")) $p.enabled) -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/* Does the pod talk to the Kubernetes API at all? (then, and only then, its service account token is mounted) */}}
{{- define "imprimatur.apiAccess" -}}
{{- if or (eq (include "imprimatur.childApproval" .) "true") (eq (include "imprimatur.events" .) "true") (eq (include "imprimatur.audit" .) "true") (eq (include "imprimatur.workloadCredentials" .) "true") -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{- define "imprimatur.auditLeaseName" -}}{{ include "imprimatur.fullname" . }}-audit{{- end -}}
