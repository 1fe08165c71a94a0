{{- define "flashdeal.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; every object is "<fullname>-<component>". */}}
{{- define "flashdeal.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flashdeal.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "flashdeal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: flashdeal
{{- end }}

{{/* Selector labels of one component; call with (dict "root" $ "component" "orders"). */}}
{{- define "flashdeal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flashdeal.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "flashdeal.componentLabels" -}}
{{ include "flashdeal.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
The reference of every image the chart renders: [registry/]repository[:tag][@digest]. Call with (dict "root" $
"image" IMAGE "tag" DEFAULT-TAG), IMAGE being {registry, repository, tag, digest} or a whole reference string (the
older form of postgresql.image and redis.image); (dict "root" $ "svc" $svc) is a service's image, tag defaulting to
image.tag and then the appVersion. A repository whose first path part is a host (it has a "." or ":", or is
"localhost": Docker's own rule) carries its registry itself. image.registry, when set, replaces the registry of every
image, so a mirror holds each image under its repository path: docker.io/library/postgres → <registry>/library/postgres,
registry.k8s.io/kubectl → <registry>/kubectl, flashdeal/orders → <registry>/flashdeal/orders.
*/}}
{{- define "flashdeal.image" -}}
{{- $image := .image }}
{{- $defaultTag := .tag | default "" }}
{{- if .svc }}
{{- $image = .svc.image }}
{{- $defaultTag = .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end }}
{{- $registry := "" }}
{{- $repository := "" }}
{{- $tag := "" }}
{{- $digest := "" }}
{{- if kindIs "string" $image }}
{{- $repository = $image }}
{{- if contains "@" $repository }}
{{- $digest = regexReplaceAll "^[^@]*@" $repository "" }}
{{- $repository = regexReplaceAll "@.*$" $repository "" }}
{{- end }}
{{- if regexMatch ":[^/]*$" $repository }}
{{- $tag = regexReplaceAll "^.*:" $repository "" }}
{{- $repository = regexReplaceAll ":[^/]*$" $repository "" }}
{{- end }}
{{- else }}
{{- $registry = $image.registry | default "" }}
{{- $repository = $image.repository }}
{{- $tag = $image.tag | default "" }}
{{- $digest = $image.digest | default "" }}
{{- end }}
{{- $first := regexReplaceAll "/.*$" $repository "" }}
{{- if and (contains "/" $repository) (or (contains "." $first) (contains ":" $first) (eq $first "localhost")) }}
{{- $registry = $first }}
{{- $repository = regexReplaceAll "^[^/]*/" $repository "" }}
{{- end }}
{{- with .root.Values.image.registry }}{{ $registry = trimSuffix "/" . }}{{ end }}
{{- $reference := $repository }}
{{- with $registry }}{{ $reference = printf "%s/%s" . $reference }}{{ end }}
{{- with ($tag | default $defaultTag) }}{{ $reference = printf "%s:%s" $reference . }}{{ end }}
{{- with $digest }}{{ $reference = printf "%s@%s" $reference . }}{{ end }}
{{- $reference }}
{{- end }}

{{- define "flashdeal.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flashdeal.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flashdeal.connectionsSecret" -}}
{{- .Values.connections.existingSecret | default (printf "%s-connections" (include "flashdeal.fullname" .)) }}
{{- end }}

{{- define "flashdeal.signingKeysSecret" -}}
{{- .Values.jwt.signingKeys.existingSecret | default (printf "%s-signing-keys" (include "flashdeal.fullname" .)) }}
{{- end }}

{{/* Connection strings the chart writes when no existing Secret is named. */}}
{{- define "flashdeal.postgresConnection" -}}
{{- if .Values.connections.postgres }}
{{- .Values.connections.postgres }}
{{- else if .Values.postgresql.enabled }}
{{- printf "Host=%s-postgresql;Port=5432;Database=%s;Username=%s;Password=%s" (include "flashdeal.fullname" .) .Values.postgresql.database .Values.postgresql.username .Values.postgresql.password }}
{{- else }}
{{- fail "connections.postgres (or connections.existingSecret, or postgresql.enabled) is required" }}
{{- end }}
{{- end }}

{{- define "flashdeal.redisConnection" -}}
{{- if .Values.connections.redis }}
{{- .Values.connections.redis }}
{{- else if .Values.redis.enabled }}
{{- printf "%s-redis:6379" (include "flashdeal.fullname" .) }}
{{- else }}
{{- fail "connections.redis (or connections.existingSecret, redis.external, or redis.enabled) is required" }}
{{- end }}
{{- end }}

{{/*
"true" when the services use redis.external (the chart composes their Redis connection string), else empty. Refuses
it next to another source of the Redis address: there must be one answer to "which Redis".
*/}}
{{- define "flashdeal.redisExternal" -}}
{{- $x := .Values.redis.external }}
{{- if $x.enabled }}
{{- if .Values.redis.enabled }}
{{- fail "redis.external.enabled and redis.enabled are both true: set redis.enabled=false (the in-cluster one is for development)" }}
{{- end }}
{{- if .Values.connections.redis }}
{{- fail "redis.external.enabled and connections.redis are both set: describe the Redis in one of them" }}
{{- end }}
{{- if and $x.user (not $x.passwordSecret.name) }}
{{- fail "redis.external.user needs redis.external.passwordSecret (Redis authenticates an ACL user with a password)" }}
{{- end }}
{{- if and $x.tls.sslHost (not $x.tls.enabled) }}
{{- fail "redis.external.tls.sslHost is set but redis.external.tls.enabled is false" }}
{{- end }}
{{- true }}
{{- end }}
{{- end }}

{{/*
StackExchange.Redis connection string from redis.external. The password is "$(FLASHDEAL_REDIS_PASSWORD)", which the
kubelet expands from the env var of that name declared before ConnectionStrings__Redis (a secretKeyRef), so the
password is in no rendered manifest and `kubectl describe` shows the placeholder.
*/}}
{{- define "flashdeal.redisExternalConnection" -}}
{{- $x := .Values.redis.external }}
{{- $parts := concat (list) $x.endpoints }}
{{- if eq $x.topology "sentinel" }}
{{- $parts = append $parts (printf "serviceName=%s" $x.sentinelServiceName) }}
{{- end }}
{{- with $x.user }}
{{- $parts = append $parts (printf "user=%s" .) }}
{{- end }}
{{- if $x.passwordSecret.name }}
{{- $parts = append $parts "password=$(FLASHDEAL_REDIS_PASSWORD)" }}
{{- end }}
{{- if $x.tls.enabled }}
{{- $parts = append $parts "ssl=true" }}
{{- with $x.tls.sslHost }}
{{- $parts = append $parts (printf "sslHost=%s" .) }}
{{- end }}
{{- end }}
{{- if gt (int $x.connectTimeoutMs) 0 }}
{{- $parts = append $parts (printf "connectTimeout=%d" (int $x.connectTimeoutMs)) }}
{{- end }}
{{- if gt (int $x.syncTimeoutMs) 0 }}
{{- $parts = append $parts (printf "syncTimeout=%d" (int $x.syncTimeoutMs)) }}
{{- end }}
{{- join "," $parts }}
{{- end }}

{{/* ConnectionStrings__Redis (and the password it expands) of a service container. */}}
{{- define "flashdeal.redisEnv" -}}
{{- $root := .root }}
{{- if include "flashdeal.redisExternal" $root }}
{{- with $root.Values.redis.external.passwordSecret }}
{{- if .name }}
- name: FLASHDEAL_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
- name: ConnectionStrings__Redis
  value: {{ include "flashdeal.redisExternalConnection" $root | quote }}
{{- else }}
- name: ConnectionStrings__Redis
  valueFrom:
    secretKeyRef:
      name: {{ .connectionsSecret }}
      key: {{ $root.Values.connections.redisKey }}
{{- end }}
{{- end }}

{{/*
Orders__Durability, __DurableReplicas, __ReplicaWaitTimeout of the orders container. Replica is refused unless
redis.external is a Sentinel or Cluster topology: the order is answered once WAIT counts replicas holding it, which a
single server never has (every accepted order would end UNAVAILABLE), and a connection string's topology is opaque.
*/}}
{{- define "flashdeal.ordersEnv" -}}
{{- $o := .Values.orders }}
{{- $values := dict "orders__durability" "orders.durability" "orders__durablereplicas" "orders.durableReplicas"
  "orders__replicawaittimeout" "orders.replicaWaitTimeoutMs" }}
{{- range $key, $_ := .Values.services.orders.env }}
{{- with get $values (lower $key) }}
{{- fail (printf "services.orders.env.%s: set %s instead (the chart renders that variable)" $key .) }}
{{- end }}
{{- end }}
{{- if eq $o.durability "Replica" }}
{{- $x := .Values.redis.external }}
{{- if not (and $x.enabled (has $x.topology (list "sentinel" "cluster"))) }}
{{- fail (print "orders.durability Replica needs redis.external (enabled) with topology sentinel or cluster: an order "
  "is answered once WAIT counts orders.durableReplicas replicas holding it, which a single server never has (every "
  "accepted order would end UNAVAILABLE), and the chart cannot see the topology behind a connection string") }}
{{- end }}
{{- end }}
{{- $ms := int $o.replicaWaitTimeoutMs }}
- name: Orders__Durability
  value: {{ $o.durability | quote }}
- name: Orders__DurableReplicas
  value: {{ int $o.durableReplicas | quote }}
- name: Orders__ReplicaWaitTimeout
  value: {{ printf "00:%02d:%02d.%03d" (div $ms 60000) (mod (div $ms 1000) 60) (mod $ms 1000) | quote }}
{{- end }}

{{- define "flashdeal.jwksUrl" -}}
{{- .Values.jwt.jwksUrl | default (printf "http://%s-auth:%v/.well-known/jwks.json" (include "flashdeal.fullname" .) .Values.ports.rest) }}
{{- end }}

{{/*
Environment every service container (and its migration Job) gets. Call with (dict "root" $ "name" "orders" "svc" $svc
"connectionsSecret" NAME). Keys follow the services' configuration sections (Service, ConnectionStrings, Auth, Telemetry).
*/}}
{{- define "flashdeal.env" -}}
{{- $root := .root }}
- name: ASPNETCORE_ENVIRONMENT
  value: {{ $root.Values.environment | quote }}
- name: DOTNET_ENVIRONMENT
  value: {{ $root.Values.environment | quote }}
- name: Logging__Format
  value: {{ $root.Values.logFormat | quote }}
- name: Service__Name
  value: {{ .name | quote }}
- name: Service__GrpcPort
  value: {{ $root.Values.ports.grpc | quote }}
- name: Service__RestPort
  value: {{ $root.Values.ports.rest | quote }}
- name: Service__ShutdownTimeout
{{- $t := int $root.Values.shutdown.shutdownTimeoutSeconds }}
  value: {{ printf "00:%02d:%02d" (div $t 60) (mod $t 60) | quote }}
- name: Service__RestResponseCompression
  value: {{ $root.Values.restCompression.enabled | quote }}
- name: Service__RestCompressionLevel
  value: {{ $root.Values.restCompression.level | quote }}
- name: Database__MigrateOnStart
  value: "false"
- name: ConnectionStrings__Postgres
  valueFrom:
    secretKeyRef:
      name: {{ .connectionsSecret }}
      key: {{ $root.Values.connections.postgresKey }}
# The pool the connection budget counts (templates/connection-budget.yaml); wins over the string's Maximum Pool Size.
- name: Postgres__MaxPoolSize
  value: {{ .svc.postgresPoolSize | quote }}
{{- include "flashdeal.redisEnv" . }}
- name: Auth__Issuer
  value: {{ $root.Values.jwt.issuer | quote }}
- name: Auth__Audience
  value: {{ $root.Values.jwt.audience | quote }}
- name: Auth__JwksUrl
  value: {{ include "flashdeal.jwksUrl" $root | quote }}
- name: RateLimits__Enabled
  value: {{ $root.Values.rateLimits.enabled | quote }}
{{- range $i, $cidr := $root.Values.rateLimits.trustedProxies }}
- name: {{ printf "RateLimits__TrustedProxies__%d" $i }}
  value: {{ $cidr | quote }}
{{- end }}
{{- range $peer, $p := $root.Values.services }}
{{- if $p.enabled }}
{{- $host := printf "%s-%s" (include "flashdeal.fullname" $root) $peer }}
- name: {{ printf "Endpoints__%s__Grpc" (title $peer) }}
  value: {{ printf "dns:///%s-headless:%v" $host $root.Values.ports.grpc | quote }}
- name: {{ printf "Endpoints__%s__Rest" (title $peer) }}
  value: {{ printf "http://%s:%v" $host $root.Values.ports.rest | quote }}
{{- end }}
{{- end }}
{{- with $root.Values.telemetry.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
- name: Telemetry__TraceSampleRatio
  value: {{ $root.Values.telemetry.traceSampleRatio | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),service.namespace=flashdeal"
{{- end }}
{{- range $key, $value := .svc.env }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}

{{- define "flashdeal.podSecurity" -}}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* A Prometheus duration ("1m30s") in milliseconds, for comparing scrape timeouts with intervals. */}}
{{- define "flashdeal.durationMs" -}}
{{- $units := dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 "w" 604800000 "y" 31536000000 }}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d|w|y)" . -1 }}
{{- $unit := regexReplaceAll "^[0-9]+" . "" }}
{{- $total = add $total (mul (atoi (trimSuffix $unit .)) (get $units $unit)) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
The scrape endpoint (a list item) of the ServiceMonitor and the PodMonitor; call with (dict "root" $ "key" "serviceMonitor").
job is set to "flashdeal-<component>" from the component label, so rules and dashboards (job=~"flashdeal-.*") match
whatever the release or fullname is.
*/}}
{{- define "flashdeal.scrapeEndpoint" -}}
{{- $m := index .root.Values.metrics .key }}
{{- $where := printf "metrics.%s" .key }}
{{- if and $m.scrapeTimeout (gt (int64 (include "flashdeal.durationMs" $m.scrapeTimeout)) (int64 (include "flashdeal.durationMs" $m.interval))) }}
{{- fail (printf "%s.scrapeTimeout %s is longer than %s.interval %s (Prometheus rejects the scrape config)" $where $m.scrapeTimeout $where $m.interval) }}
{{- end }}
- port: http
  path: /metrics
  scheme: http
  interval: {{ $m.interval }}
  {{- with $m.scrapeTimeout }}
  scrapeTimeout: {{ . }}
  {{- end }}
  relabelings:
    - sourceLabels: [{{ .source }}]
      targetLabel: job
      replacement: flashdeal-$1
{{- end }}

{{/* Label selector of every enabled FlashDeal service (their Services, or their pods). */}}
{{- define "flashdeal.servicesSelector" -}}
{{- $components := list }}
{{- range $name, $svc := .Values.services }}
{{- if $svc.enabled }}{{ $components = append $components $name }}{{ end }}
{{- end }}
matchLabels:
  app.kubernetes.io/name: {{ include "flashdeal.name" . }}
  app.kubernetes.io/instance: {{ .Release.Name }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values: {{ $components | toJson }}
{{- end }}

{{/*
NetworkPolicy peers (list items for `from:` or `to:`) of one peer value {namespace, podLabels, cidrs}: an ipBlock per
CIDR, and the pods podLabels selects in namespace (all its pods without podLabels; the release's namespace without
namespace). Empty when the value names nothing: the rule then omits from/to, i.e. any address (on its ports only).
*/}}
{{- define "flashdeal.networkPeers" -}}
{{- range .cidrs }}
- ipBlock:
    cidr: {{ . }}
{{- end }}
{{- if or .namespace .podLabels }}
- podSelector:
    {{- with .podLabels }}
    matchLabels:
      {{- toYaml . | nindent 6 }}
    {{- else }} {}
    {{- end }}
  {{- with .namespace }}
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* The port of a URL: the explicit one, else the scheme's (80, 443). */}}
{{- define "flashdeal.urlPort" -}}
{{- $url := urlParse . }}
{{- $port := regexFind "[0-9]+$" (regexFind ":[0-9]+$" $url.host) }}
{{- $port | default (ternary "443" "80" (eq $url.scheme "https")) }}
{{- end }}

{{/* Egress rule to the cluster DNS (UDP and TCP); call with .Values.networkPolicy. */}}
{{- define "flashdeal.networkPolicyDns" -}}
# Cluster DNS.
- ports:
    {{- range .dns.ports }}
    - {protocol: UDP, port: {{ . }}}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
  {{- with include "flashdeal.networkPeers" .dns | trim }}
  to:
    {{- . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* Egress rule to PostgreSQL: the in-cluster dev pod, or networkPolicy.egress.postgres. (dict "root" $ "pod" BOOL) */}}
{{- define "flashdeal.networkPolicyPostgres" -}}
# PostgreSQL.
{{- if .pod }}
- to:
    - podSelector:
        matchLabels:
          {{- include "flashdeal.selectorLabels" (dict "root" .root "component" "postgresql") | nindent 10 }}
  ports:
    - {protocol: TCP, port: 5432}
{{- else }}
{{- $pg := .root.Values.networkPolicy.egress.postgres }}
- ports:
    {{- range $pg.ports }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
  {{- with include "flashdeal.networkPeers" $pg | trim }}
  to:
    {{- . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
Pod-template annotations that roll every service's pods when a Secret they read at start changes (env from
secretKeyRef is read once, when the container starts):
- checksum/connections: the connection strings the chart writes into <release>-connections (from values, so it is
  stable across upgrades); with connections.existingSecret, the data of that Secret as `lookup` sees it.
- checksum/redis-password: redis.external.passwordSecret, by `lookup`.
`lookup` sees nothing under `helm template` and `--dry-run` (no cluster): the annotation is left out then, and a
Secret changed outside Helm rolls nothing until the next `helm upgrade` (or use a controller such as
stakater/Reloader). The signing-key Secret is deliberately absent: auth re-reads its mounted keys while running and
keeps the publication times in PostgreSQL, so a key edit must not restart it, and no other service mounts it.
*/}}
{{- define "flashdeal.podChecksums" -}}
{{- $ns := .Release.Namespace }}
{{- if not .Values.connections.existingSecret }}
{{- $redis := "" }}
{{- if not (include "flashdeal.redisExternal" .) }}{{ $redis = include "flashdeal.redisConnection" . }}{{ end }}
checksum/connections: {{ include "flashdeal.postgresConnection" . | cat $redis | sha256sum | trunc 16 }}
{{- else }}
{{- with include "flashdeal.secretDataChecksum" (lookup "v1" "Secret" $ns .Values.connections.existingSecret) }}
checksum/connections: {{ . }}
{{- end }}
{{- end }}
{{- if include "flashdeal.redisExternal" . }}
{{- with .Values.redis.external.passwordSecret.name }}
{{- with include "flashdeal.secretDataChecksum" (lookup "v1" "Secret" $ns .) }}
checksum/redis-password: {{ . }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A short checksum of a Secret's data, given the object `lookup` returned; empty for an empty result (Helm cannot see
the Secret). toJson orders the keys, so the same data always gives the same checksum.
*/}}
{{- define "flashdeal.secretDataChecksum" -}}
{{- with .data }}{{ toJson . | sha256sum | trunc 16 }}{{ end }}
{{- end }}
