#!/usr/bin/env bash
# Builds (once) the pinned third-party servers and tools the local stack and the tests run,
# and prints the folder that links them all by name. Binaries are cached outside the repo,
# keyed by version, so CI on the same machine reuses them; a cold build runs them all in
# parallel (see the README for the time it takes on 2 cores).
#
#   bash hack/build-servers.sh            what `npm test` needs
#   bash hack/build-servers.sh regctl     ... and the extras named (benchmark peers)
#
# KUBEBUILDER_ASSETS, when set, supplies kube-apiserver, etcd (and kubectl, if present)
# instead of building them (the envtest convention).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/versions.sh"
cache=${IMAGESTREAM_BACKUP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagestream-backup}
bin=$cache/bin
mkdir -p "$bin"
export GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { echo "build-servers: $*" >&2; }

# build NAME VERSION CMD...: runs CMD with $out set to a temporary folder, then moves
# the result into place atomically so an interrupted build is never taken as done.
build() {
  local name=$1 version=$2; shift 2
  local dest=$bin/$name-$version
  [ -f "$dest/.done" ] && return 0
  log "building $name $version (cached in $dest)"
  local out; out=$(mktemp -d "$bin/.tmp-$name-XXXX")
  local start=$SECONDS
  if ! (export out; "$@") >"$out/build.log" 2>&1; then
    cat "$out/build.log" >&2; rm -rf "$out"; log "building $name failed"; return 1
  fi
  touch "$out/.done"; rm -rf "$dest"; mv "$out" "$dest"
  log "built $name in $((SECONDS - start))s"
}

build_kube() {
  cd "$here/tools/kube"
  go build -trimpath -ldflags=-s -o "$out/" go.etcd.io/etcd/server/v3 \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
  mv "$out/server" "$out/etcd"
}
# Velero's controller-runtime manager serves metrics on :8080 of every interface, which no flag
# changes: a second `velero server` on the machine (another stack, the disaster-recovery test's
# second cluster) could not start. Its default address is a variable, so the link sets it to "0"
# (off); Velero's own metrics stay on --metrics-address.
build_velero() {
  cd "$here/tools/velero"
  go build -trimpath -ldflags="-s -X sigs.k8s.io/controller-runtime/pkg/metrics/server.DefaultBindAddress=0" \
    -o "$out/" github.com/vmware-tanzu/velero/cmd/velero \
    github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws
}
go_install() { GOBIN=$out go install -trimpath -ldflags=-s "$1"; }
build_minio() { go_install "github.com/minio/minio@$MINIO_VERSION"; }
build_registry() { go_install "github.com/distribution/distribution/v3/cmd/registry@$DISTRIBUTION_VERSION"; }
build_crane() { go_install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"; }
build_toxiproxy() { go_install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"; mv "$out/server" "$out/toxiproxy-server"; }
build_fake_gcs() { go_install "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"; }
build_oras() { go_install "oras.land/oras/cmd/oras@$ORAS_VERSION"; }
build_regctl() { go_install "github.com/regclient/regclient/cmd/regctl@$REGCTL_VERSION"; }

# name version builder binary...: every tool, with the binaries it links.
tools=(
  "minio $MINIO_VERSION build_minio minio"
  "registry $DISTRIBUTION_VERSION build_registry registry"
  "crane $CRANE_VERSION build_crane crane"
  "velero $VELERO_VERSION-aws-$VELERO_AWS_PLUGIN_VERSION-nometrics8080 build_velero velero velero-plugin-for-aws"
  "toxiproxy $TOXIPROXY_VERSION build_toxiproxy toxiproxy-server"
  "fake-gcs-server $FAKE_GCS_VERSION build_fake_gcs fake-gcs-server"
  "oras $ORAS_VERSION build_oras oras"
)
for extra in "$@"; do
  case $extra in
    regctl) tools+=("regctl $REGCTL_VERSION build_regctl regctl") ;;
    *) log "unknown extra $extra (known: regctl)"; exit 2 ;;
  esac
done

pids=()
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  for b in kube-apiserver etcd; do
    [ -x "$KUBEBUILDER_ASSETS/$b" ] || { log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no $b"; exit 1; }
  done
  kube_dir=$KUBEBUILDER_ASSETS
  [ -x "$kube_dir/kubectl" ] || { build kube "$KUBERNETES_VERSION" build_kube & pids+=($!); }
else
  build kube "$KUBERNETES_VERSION" build_kube & pids+=($!)
fi
for t in "${tools[@]}"; do
  read -r name version builder _ <<<"$t"
  build "$name" "$version" "$builder" & pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
[ $fail = 0 ] || exit 1

# One folder of links, so the stack and tests find every binary by name.
links=$cache/stack-bin
mkdir -p "$links"
kube_dir=${kube_dir:-$bin/kube-$KUBERNETES_VERSION}
ln -sf "$kube_dir/kube-apiserver" "$links/kube-apiserver"
ln -sf "$kube_dir/etcd" "$links/etcd"
if [ -x "$kube_dir/kubectl" ]; then ln -sf "$kube_dir/kubectl" "$links/kubectl"
else ln -sf "$bin/kube-$KUBERNETES_VERSION/kubectl" "$links/kubectl"; fi
for t in "${tools[@]}"; do
  read -r name version _ binaries <<<"$t"
  for b in $binaries; do ln -sf "$bin/$name-$version/$b" "$links/$b"; done
done
echo "$links"
