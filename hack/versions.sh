# Pinned versions of the third-party servers and tools the tests run against.
# Sourced by hack/build-servers.sh; change a version here and the cache key changes with it.
KUBERNETES_VERSION=v1.36.3          # kube-apiserver, kubectl (hack/tools/kube/go.mod)
ETCD_VERSION=v3.6.8                 # resolved by hack/tools/kube/go.mod from Kubernetes' own pin
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c   # github.com/minio/minio, last commit published
DISTRIBUTION_VERSION=v3.1.2         # github.com/distribution/distribution/v3 (cmd/registry)
CRANE_VERSION=v0.22.1               # github.com/google/go-containerregistry (cmd/crane)
