{{- define "cutover.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cutover.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "cutover.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "cutover.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "cutover.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Refuses, at install time, files the pod could not run: both files are required, and the environment
must keep its runs in this cluster's release namespace, where the chart's Role grants access (a
read-only root filesystem has no folder for local state).
*/}}
{{- define "cutover.checkFiles" -}}
{{- $runbook := required "runbook: pass the runbook file with --set-file runbook=workflows/<name>.yaml" .Values.runbook -}}
{{- $envText := required "environment: pass the environment file with --set-file environment=config/<name>.yaml" .Values.environment -}}
{{- $env := fromYaml $envText -}}
{{- if hasKey $env "Error" -}}
{{- fail (printf "environment: not YAML: %s" (get $env "Error")) -}}
{{- end -}}
{{- $state := (get $env "state") | default dict -}}
{{- $k8s := (get $state "kubernetes") | default dict -}}
{{- if not (hasKey $state "kubernetes") -}}
{{- fail (printf "environment: expected state: { kubernetes: { namespace: %s } } (runs kept in this cluster), found %s; a pod has no folder to keep local state in" .Release.Namespace (toJson $state)) -}}
{{- end -}}
{{- if and (not (get $k8s "cluster")) (ne (toString (get $k8s "namespace")) .Release.Namespace) -}}
{{- fail (printf "environment: state.kubernetes.namespace is %q but the release namespace is %q: the chart's Role grants the run state and lock only there" (toString (get $k8s "namespace")) .Release.Namespace) -}}
{{- end -}}
{{- $rb := fromYaml $runbook -}}
{{- if hasKey $rb "Error" -}}
{{- fail (printf "runbook: not YAML: %s" (get $rb "Error")) -}}
{{- end -}}
{{- if not (has "--approve" .Values.execute.extraArgs) -}}
{{- range $i, $step := (get $rb "steps") | default list -}}
{{- if and (kindIs "map" $step) (hasKey $step "approve") (eq (toString (dig "approve" "via" "" $step)) "terminal") -}}
{{- fail (printf "runbook: steps.%d approves via terminal, and a pod has no terminal: the run would halt there; use approve: {via: slack}" $i) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The pod of the Job and of the rehearsal CronJob. The ServiceAccount token is projected explicitly (as
the kubelet's automount would) so that the pod spec shows every file cutover reads.
*/}}
{{- define "cutover.podTemplate" -}}
{{- $ := .root -}}
metadata:
  labels:
    {{- include "cutover.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with $.Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/files: {{ printf "%s\n%s" $.Values.runbook $.Values.environment | sha256sum }}
    {{- with $.Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "cutover.serviceAccountName" $ }}
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: {{ $.Values.terminationGracePeriodSeconds }}
  {{- with $.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $.Values.podSecurityContext | nindent 4 }}
  containers:
    - name: cutover
      image: {{ include "cutover.image" $ | quote }}
      imagePullPolicy: {{ $.Values.image.pullPolicy }}
      args:
        {{- toYaml .args | nindent 8 }}
      workingDir: /etc/cutover
      env:
        # Node, the AWS SDK and client-node look for config under HOME; /tmp is the one writable place.
        - name: HOME
          value: /tmp
        {{- with $.Values.operator.user }}
        - name: CUTOVER_USER
          value: {{ . | quote }}
        {{- end }}
        {{- with $.Values.operator.slackUser }}
        - name: CUTOVER_SLACK_USER
          value: {{ . | quote }}
        {{- end }}
        {{- with $.Values.aws.region }}
        - name: AWS_REGION
          value: {{ . | quote }}
        {{- end }}
        {{- with $.Values.slack.existingSecret }}
        - name: {{ $.Values.slack.botToken.env }}
          valueFrom:
            secretKeyRef: { name: {{ . | quote }}, key: {{ $.Values.slack.botToken.key | quote }} }
        - name: {{ $.Values.slack.appToken.env }}
          valueFrom:
            secretKeyRef: { name: {{ . | quote }}, key: {{ $.Values.slack.appToken.key | quote }} }
        {{- end }}
        {{- with $.Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      securityContext:
        {{- toYaml $.Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml $.Values.resources | nindent 8 }}
      volumeMounts:
        - name: files
          mountPath: /etc/cutover
          readOnly: true
        - name: kube-api-access
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount
          readOnly: true
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: files
      configMap:
        name: {{ include "cutover.fullname" $ }}-files
    - name: kube-api-access
      projected:
        sources:
          - serviceAccountToken:
              path: token
              expirationSeconds: 3607
          - configMap:
              name: kube-root-ca.crt
              items: [{ key: ca.crt, path: ca.crt }]
          - downwardAPI:
              items:
                - path: namespace
                  fieldRef: { fieldPath: metadata.namespace }
    - name: tmp
      emptyDir: { sizeLimit: 64Mi }
  {{- with $.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
