{{- /*
One Kong Ingress: "root", "suffix" (the name after <release>-), "class" (general, auth, order or stream: the label the
checks and scripts/edge/check-routes.sh read), "kind" (rest or grpc), "plugins" (KongPlugin names), "annotations"
(extra konghq.com/* for this Ingress), "paths" (each {path, backend}; backend is a Service name, port "http" for rest
and "grpc" for grpc) and "certOwner" (true on the one Ingress that carries kong.annotations' cert-manager.io/* keys).
*/}}
{{- define "flashdeal.kongIngress" -}}
{{- $root := .root }}
{{- $kong := $root.Values.kong }}
{{- $isGrpc := eq .kind "grpc" }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "flashdeal.fullname" $root }}-{{ .suffix }}
  labels:
    {{- include "flashdeal.componentLabels" (dict "root" $root "component" "edge") | nindent 4 }}
    flashdeal.dev/route-class: {{ .class }}
  annotations:
    {{- if $isGrpc }}
    konghq.com/protocols: {{ ternary "grpcs" "grpc,grpcs" $kong.tls.enabled }}
    {{- else }}
    konghq.com/protocols: {{ ternary "https" "http,https" $kong.tls.enabled }}
    {{- if $kong.tls.enabled }}
    konghq.com/https-redirect-status-code: "308"
    {{- end }}
    {{- end }}
    konghq.com/strip-path: "false"
    {{- with .plugins }}
    konghq.com/plugins: {{ join "," . }}
    {{- end }}
    {{- range $key, $value := .annotations }}
    {{ $key }}: {{ $value | quote }}
    {{- end }}
    {{- /* Two Ingresses asking cert-manager for one Secret make two Certificates overwrite each other's. */}}
    {{- range $key, $value := $kong.annotations }}
    {{- if or $.certOwner (not (hasPrefix "cert-manager.io/" $key)) }}
    {{ $key }}: {{ $value | quote }}
    {{- end }}
    {{- end }}
spec:
  ingressClassName: {{ $kong.ingressClassName }}
  {{- if $kong.tls.enabled }}
  tls:
    - secretName: {{ required "kong.tls.secretName is required when kong.tls.enabled" $kong.tls.secretName }}
      {{- with $kong.host }}
      hosts: [{{ . | quote }}]
      {{- end }}
  {{- end }}
  rules:
    - http:
        paths:
          {{- range .paths }}
          - path: {{ .path | quote }}
            pathType: ImplementationSpecific
            backend:
              service:
                name: {{ .backend }}
                port:
                  name: {{ ternary "grpc" "http" $isGrpc }}
          {{- end }}
      {{- with $kong.host }}
      host: {{ . | quote }}
      {{- end }}
{{- end }}

{{- /* The Kong route path of one exact call: a regular expression (Kong anchors it at the start), dots escaped. */}}
{{- define "flashdeal.kongExactPath" -}}
/~{{ regexQuoteMeta . }}$
{{- end }}
