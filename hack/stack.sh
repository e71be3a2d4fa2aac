#!/usr/bin/env bash
# The local stack the tests and the demo run against: kube-apiserver + etcd, MinIO (S3 over
# TLS), Azurite (Azure Blob over TLS), fake-gcs-server (GCS over TLS) and a distribution
# registry (TLS + htpasswd), all on loopback on free ports, data under
# .stack/. `up` is idempotent; `down` stops everything; `status` says what runs; `restart
# etcd|kube-apiserver` restarts one server in place (same ports, same data).
# Writes .stack/env (shell-sourceable) and links the binaries into .stack/bin/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${STACK_DIR:-$root/.stack}
pki=$stack/pki logs=$stack/logs run=$stack/run
components=(etcd kube-apiserver minio azurite fake-gcs registry velero)

log() { echo "stack: $*" >&2; }
die() { log "$*"; exit 1; }

pid_of() { [ -f "$run/$1.pid" ] && cat "$run/$1.pid" || true; }
alive() { local p; p=$(pid_of "$1"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

cmd_status() {
  local rc=0
  for c in "${components[@]}"; do
    if alive "$c"; then echo "$c: running (pid $(pid_of "$c"))"; else echo "$c: stopped"; rc=1; fi
  done
  [ -f "$stack/env" ] && echo "env: $stack/env"
  return $rc
}

cmd_down() {
  local c p
  for c in velero registry fake-gcs azurite minio kube-apiserver etcd; do
    p=$(pid_of "$c")
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$p" 2>/dev/null || true
      log "stopped $c"
    fi
    rm -f "$run/$c.pid"
  done
  rm -f "$stack/env"
}

# Stops the stack and drops its data (cluster, bucket, registry, benchmark caches), keeping
# the CA and the built servers: test runs add gigabytes of images to the registry.
cmd_reset() {
  cmd_down
  rm -rf "$stack/etcd" "$stack/minio" "$stack/azurite" "$stack/fake-gcs" "$stack/registry" "$stack/bench" "$stack/logs"
  log "reset: data removed; 'up' starts an empty stack"
}

need_debian_packages() {
  local missing=()
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  # skopeo: an OCI client the product does not use, that the air-gapped tests read exports with.
  command -v skopeo >/dev/null || missing+=(skopeo)
  [ ${#missing[@]} = 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian packages: ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >&2
  else
    die "missing tools: ${missing[*]} (Debian: apt-get install ${missing[*]})"
  fi
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

make_pki() {
  mkdir -p "$pki"
  [ -f "$pki/ready" ] && return 0
  ( cd "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=imagestream-backup test CA" 2>/dev/null
    # One serving certificate for every server on loopback.
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
      -days 3650 -extfile server.ext 2>/dev/null
    # The kubeconfig's admin identity: a client certificate in system:masters.
    openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=admin" 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' > admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out admin.crt \
      -days 3650 -extfile admin.ext 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext
    touch ready )
}

# start NAME CMD...: runs CMD detached, its output in .stack/logs/NAME.log. The command line is
# kept in .stack/run/NAME.args (NUL-separated) for `restart`.
start() {
  local name=$1; shift
  printf '%s\0' "$@" > "$run/$name.args"
  setsid "$@" >"$logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$run/$name.pid"
}

# Restarts one server in place, with its ports and data (fault tests restart the API server
# under a running controller). Only servers whose command line is all they need: the others
# get secrets from the environment, which is not kept.
cmd_restart() {
  local name=${1:-} p args=()
  case $name in
    etcd|kube-apiserver) ;;
    *) die "restart: one of etcd, kube-apiserver (got '${name}')" ;;
  esac
  [ -f "$run/$name.args" ] || die "restart: no command line kept for $name: run 'down' and 'up' once"
  mapfile -d '' args < "$run/$name.args"
  p=$(pid_of "$name")
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  fi
  # The log of the process that was stopped stays readable beside the new one.
  mv "$logs/$name.log" "$logs/$name.log.before-restart"
  start "$name" "${args[@]}"
  local ca=$pki/ca.crt
  if [ "$name" = kube-apiserver ]; then
    local server; server=$(sed -n 's/.*server: "\(https:[^"]*\)".*/\1/p' "$stack/kubeconfig")
    wait_for kube-apiserver 120 curl -sf --cacert "$ca" --cert "$pki/admin.crt" --key "$pki/admin.key" "$server/readyz"
  else
    local url; url=$(printf '%s\n' "${args[@]}" | sed -n '/^--listen-client-urls$/{n;p}')
    wait_for etcd 60 curl -sf "$url/health"
  fi
  log "restarted $name (pid $(pid_of "$name"))"
}

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds, failing early if NAME died.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || { tail -20 "$logs/$name.log" >&2; die "$name exited during start-up"; }
    [ $SECONDS -lt $deadline ] || { tail -20 "$logs/$name.log" >&2; die "$name not ready after ${secs}s"; }
    sleep 0.2
  done
}

kubectl_() { "$stack/bin/kubectl" --kubeconfig "$stack/kubeconfig" "$@"; }

install_crds() {
  # Velero's own CRDs, from the pinned binary (never committed: they follow its version).
  "$stack/bin/velero" install --crds-only --dry-run -o yaml > "$stack/velero-crds.yaml"
  local files=("$root"/hack/crds/*.yaml "$stack/velero-crds.yaml")
  compgen -G "$root/crds/*_*.yaml" >/dev/null && files+=("$root"/crds/*_*.yaml)
  local args=(); for f in "${files[@]}"; do args+=(-f "$f"); done
  kubectl_ apply --server-side --force-conflicts "${args[@]}" >/dev/null
  kubectl_ wait --for condition=Established --timeout=60s "${args[@]}" >/dev/null
}

# The plugin executable (npm run build:plugin), built when missing; the tests rebuild it when stale.
velero_plugin=$root/dist/plugin/velero-plugin-for-imagestreams

# start_velero S3_PORT BUCKET REGION S3_USER S3_SECRET: namespace velero, its credentials Secret,
# the BSL `default` on the stack's bucket (prefix velero, the stack's CA as caCert), and `velero
# server` out of cluster with velero-plugin-for-aws and this project's plugin; waits until the BSL
# is Available. Plugins are Velero's child processes: they inherit KUBECONFIG.
start_velero() {
  local s3_port=$1 bucket=$2 region=$3 s3_user=$4 s3_secret=$5 version
  version=$(source "$root/hack/versions.sh" && echo "$VELERO_VERSION")
  if [ ! -x "$velero_plugin" ]; then
    log "building the Velero plugin (npm run build:plugin)"
    (cd "$root" && npm run --silent build:plugin) >&2
  fi
  mkdir -p "$stack/velero-plugins"
  ln -sfn "$stack/bin/velero-plugin-for-aws" "$stack/velero-plugins/velero-plugin-for-aws"
  ln -sfn "$velero_plugin" "$stack/velero-plugins/velero-plugin-for-imagestreams"
  # The Secret goes through stdin, so that no credential shows in a process list.
  kubectl_ apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: velero}
---
apiVersion: v1
kind: Secret
metadata: {name: cloud-credentials, namespace: velero}
stringData:
  cloud: |
    [default]
    aws_access_key_id=$s3_user
    aws_secret_access_key=$s3_secret
---
apiVersion: velero.io/v1
kind: BackupStorageLocation
metadata: {name: default, namespace: velero}
spec:
  provider: aws
  default: true
  objectStorage: {bucket: $bucket, prefix: velero, caCert: $(base64 -w0 < "$pki/ca.crt")}
  config: {region: $region, s3Url: "https://127.0.0.1:$s3_port", s3ForcePathStyle: "true"}
  credential: {name: cloud-credentials, key: cloud}
---
# Velero's restore reads its own Deployment (for the image of its restore helper); the server
# runs out of cluster, so this one only names it: no controller manager here runs its pods.
apiVersion: apps/v1
kind: Deployment
metadata: {name: velero, namespace: velero}
spec:
  replicas: 0
  selector: {matchLabels: {component: velero}}
  template:
    metadata: {labels: {component: velero}}
    spec: {containers: [{name: velero, image: "velero/velero:$version"}]}
YAML
  # Four item-block workers make Velero call the plugin's Execute concurrently (Velero 1.16+ runs
  # item blocks in parallel); operations are polled every 2 s (default 10 s): shorter tests.
  KUBECONFIG=$stack/kubeconfig start velero "$stack/bin/velero" server \
    --kubeconfig "$stack/kubeconfig" --namespace velero --plugin-dir "$stack/velero-plugins" \
    --metrics-address "127.0.0.1:$(free_port)" --profiler-address "127.0.0.1:$(free_port)" \
    --item-block-worker-count 4 --item-operation-sync-frequency 2s --log-format json
  wait_for velero 120 bsl_available
}
bsl_available() { [ "$(kubectl_ -n velero get bsl default -o 'jsonpath={.status.phase}')" = Available ]; }

# start_azurite PORT: the Azure Blob emulator (npm package azurite, pinned in package.json) over
# TLS with the stack's certificate, one storage account whose key is made here (Azurite reads
# AZURITE_ACCOUNTS from its environment, so no key shows in a process list).
azure_account=stackaccount azure_container=stack-container
start_azurite() {
  local port=$1 key
  key=$( [ -f "$stack/azure-key" ] || openssl rand -base64 32 > "$stack/azure-key"; cat "$stack/azure-key")
  [ -x "$root/node_modules/.bin/azurite-blob" ] || die "azurite is not installed: run 'npm ci'"
  mkdir -p "$stack/azurite"
  AZURITE_ACCOUNTS="$azure_account:$key" start azurite "$root/node_modules/.bin/azurite-blob" \
    --blobHost 127.0.0.1 --blobPort "$port" --location "$stack/azurite" --cert "$pki/server.crt" --key "$pki/server.key" \
    --skipApiVersionCheck --disableTelemetry --silent
}

# The container, made with the Azure SDK (a shared-key request is too much for curl); the key
# goes through the environment.
create_azure_container() {
  local endpoint=$1
  (cd "$root" && AZ_KEY=$(cat "$stack/azure-key") AZ_ENDPOINT=$endpoint NODE_EXTRA_CA_CERTS=$pki/ca.crt node --input-type=module -e "
    import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
    const service = new BlobServiceClient(process.env.AZ_ENDPOINT, new StorageSharedKeyCredential('$azure_account', process.env.AZ_KEY));
    await service.getContainerClient('$azure_container').createIfNotExists();
  ") || die "creating Azure container $azure_container failed"
}

# start_fake_gcs PORT: the GCS emulator most projects test against (fake-gcs-server, built
# from its Go module, pinned) over TLS with the stack's certificate. It checks no credentials:
# the service account key the tests use is made here and signs tokens nobody verifies.
gcs_bucket=stack-bucket
start_fake_gcs() {
  local port=$1
  mkdir -p "$stack/fake-gcs"
  start fake-gcs "$stack/bin/fake-gcs-server" -scheme https -host 127.0.0.1 -port "$port" \
    -cert-location "$pki/server.crt" -private-key-location "$pki/server.key" \
    -backend filesystem -filesystem-root "$stack/fake-gcs" -external-url "https://127.0.0.1:$port" -log-level warn
  if [ ! -f "$stack/gcs-key.json" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/gcs-sa.key" 2>/dev/null
    GCS_PEM_FILE=$pki/gcs-sa.key node -e '
      const fs = require("fs");
      const key = { type: "service_account", project_id: "stack", private_key_id: "stack-key-1",
        private_key: fs.readFileSync(process.env.GCS_PEM_FILE, "utf8"), client_email: "imagestream-backup@stack.iam.gserviceaccount.com",
        client_id: "1", token_uri: "https://oauth2.googleapis.com/token" };
      fs.writeFileSync(process.argv[1], JSON.stringify(key, null, 2), { mode: 0o600 });' "$stack/gcs-key.json"
  fi
}

cmd_up() {
  mkdir -p "$stack" "$logs" "$run" "$stack/bin"
  need_debian_packages
  local bindir; bindir=$(bash "$root/hack/build-servers.sh")
  for b in kube-apiserver etcd kubectl minio registry crane oras velero velero-plugin-for-aws fake-gcs-server; do ln -sfn "$bindir/$b" "$stack/bin/$b"; done

  local all=1
  for c in "${components[@]}"; do alive "$c" || all=0; done
  if [ $all = 1 ] && [ -f "$stack/env" ]; then
    install_crds # cheap, and picks up CRD changes
    log "already up ($stack/env)"
    return 0
  fi
  cmd_down >/dev/null 2>&1 || true
  make_pki

  local etcd_port etcd_peer api_port s3_port s3_console reg_port
  etcd_port=$(free_port); etcd_peer=$(free_port); api_port=$(free_port)
  s3_port=$(free_port); s3_console=$(free_port); reg_port=$(free_port)
  local az_port gcs_port; az_port=$(free_port); gcs_port=$(free_port)
  local ca=$pki/ca.crt

  start etcd "$stack/bin/etcd" --name stack --data-dir "$stack/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "stack=http://127.0.0.1:$etcd_peer" --unsafe-no-fsync --log-level warn

  local s3_user=stack-admin s3_secret
  s3_secret=$( [ -f "$stack/s3-secret" ] || openssl rand -hex 16 > "$stack/s3-secret"; cat "$stack/s3-secret")
  mkdir -p "$stack/minio-certs/CAs" "$stack/minio"
  cp "$pki/server.crt" "$stack/minio-certs/public.crt"; cp "$pki/server.key" "$stack/minio-certs/private.key"
  # MinIO's built-in single-key KMS, key name stack-kms-key: SSE-KMS, and policies that demand it
  # (test/adversarial/storage.test.ts). Through the environment, so the key shows in no process list.
  local kms_key; kms_key=$( [ -f "$stack/kms-key" ] || openssl rand -base64 32 > "$stack/kms-key"; cat "$stack/kms-key")
  MINIO_KMS_SECRET_KEY=stack-kms-key:$kms_key \
  MINIO_ROOT_USER=$s3_user MINIO_ROOT_PASSWORD=$s3_secret MINIO_BROWSER=off MINIO_UPDATE=off \
    start minio "$stack/bin/minio" server --quiet --address "127.0.0.1:$s3_port" \
    --console-address "127.0.0.1:$s3_console" --certs-dir "$stack/minio-certs" "$stack/minio"

  local reg_user=stack-user reg_password
  reg_password=$( [ -f "$stack/registry-password" ] || openssl rand -hex 16 > "$stack/registry-password"; cat "$stack/registry-password")
  htpasswd -Bbn "$reg_user" "$reg_password" > "$stack/registry-htpasswd" 2>/dev/null
  cat > "$stack/registry.yaml" <<YAML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $stack/registry}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http:
  addr: 127.0.0.1:$reg_port
  secret: $(openssl rand -hex 16)
  tls: {certificate: $pki/server.crt, key: $pki/server.key}
auth:
  htpasswd: {realm: stack-registry, path: $stack/registry-htpasswd}
YAML
  OTEL_TRACES_EXPORTER=none start registry "$stack/bin/registry" serve "$stack/registry.yaml"
  start_azurite "$az_port"
  start_fake_gcs "$gcs_port"

  wait_for etcd 60 curl -sf "http://127.0.0.1:$etcd_port/health"
  start kube-apiserver "$stack/bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --secure-port "$api_port" --cert-dir "$stack/apiserver-certs" \
    --tls-cert-file "$pki/server.crt" --tls-private-key-file "$pki/server.key" --client-ca-file "$ca" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --service-cluster-ip-range 10.0.0.0/24 \
    --authorization-mode RBAC --disable-admission-plugins ServiceAccount \
    --enable-priority-and-fairness=false --storage-media-type application/json

  cat > "$stack/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: stack
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$ca"}
users:
- name: admin
  user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
contexts:
- name: stack
  context: {cluster: stack, user: admin, namespace: default}
current-context: stack
YAML

  wait_for minio 60 curl -sf --cacert "$ca" "https://127.0.0.1:$s3_port/minio/health/live"
  wait_for registry 60 curl -sf --cacert "$ca" -u "$reg_user:$reg_password" "https://127.0.0.1:$reg_port/v2/"
  wait_for kube-apiserver 120 curl -sf --cacert "$ca" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$api_port/readyz"

  local bucket=stack-bucket region=us-east-1
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" -X PUT \
    --aws-sigv4 "aws:amz:$region:s3" --user "$s3_user:$s3_secret" "https://127.0.0.1:$s3_port/$bucket")
  case $code in 200|409) ;; *) die "creating bucket $bucket failed (HTTP $code)";; esac

  local az_endpoint=https://127.0.0.1:$az_port/$azure_account gcs_endpoint=https://127.0.0.1:$gcs_port
  wait_for azurite 60 curl -s -o /dev/null --cacert "$ca" "$az_endpoint?comp=list"
  create_azure_container "$az_endpoint"
  wait_for fake-gcs 60 curl -sf --cacert "$ca" "$gcs_endpoint/storage/v1/b"
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" -X POST -H 'content-type: application/json' \
    -d "{\"name\":\"$gcs_bucket\"}" "$gcs_endpoint/storage/v1/b")
  case $code in 200|409) ;; *) die "creating GCS bucket $gcs_bucket failed (HTTP $code)";; esac

  install_crds
  start_velero "$s3_port" "$bucket" "$region" "$s3_user" "$s3_secret"

  cat > "$stack/env.tmp" <<ENV
KUBECONFIG=$stack/kubeconfig
S3_ENDPOINT=https://127.0.0.1:$s3_port
S3_ACCESS_KEY=$s3_user
S3_SECRET_KEY=$s3_secret
S3_BUCKET=$bucket
S3_REGION=$region
S3_CA_FILE=$ca
REGISTRY=127.0.0.1:$reg_port
REGISTRY_CA_FILE=$ca
REGISTRY_USER=$reg_user
REGISTRY_PASSWORD=$reg_password
STACK_BIN=$stack/bin
VELERO_NAMESPACE=velero
AZURE_ENDPOINT=$az_endpoint
AZURE_ACCOUNT=$azure_account
AZURE_KEY=$(cat "$stack/azure-key")
AZURE_CONTAINER=$azure_container
AZURE_CA_FILE=$ca
GCS_ENDPOINT=$gcs_endpoint
GCS_BUCKET=$gcs_bucket
GCS_KEY_FILE=$stack/gcs-key.json
GCS_CA_FILE=$ca
export KUBECONFIG S3_ENDPOINT S3_ACCESS_KEY S3_SECRET_KEY S3_BUCKET S3_REGION S3_CA_FILE REGISTRY REGISTRY_CA_FILE REGISTRY_USER REGISTRY_PASSWORD STACK_BIN VELERO_NAMESPACE
export AZURE_ENDPOINT AZURE_ACCOUNT AZURE_KEY AZURE_CONTAINER AZURE_CA_FILE GCS_ENDPOINT GCS_BUCKET GCS_KEY_FILE GCS_CA_FILE
ENV
  mv "$stack/env.tmp" "$stack/env"
  log "up: source $stack/env"
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  restart) cmd_restart "${2:-}" ;;
  *) echo "usage: $0 up|down|status|reset|restart etcd|kube-apiserver" >&2; exit 2 ;;
esac
