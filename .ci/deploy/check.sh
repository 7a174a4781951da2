#!/usr/bin/env bash
# The deployment files: the Kubernetes manifests against the API's JSON schemas
# (kubernetes-validate, PyPI, strict: unknown fields fail) and the Dockerfile through a linter
# (dockerfilelint, npm). No container engine runs here, so the image itself is built by users
# (`docker build .`), not in CI.
set -euo pipefail
cd "$(dirname "$0")"
command -v kubernetes-validate >/dev/null 2>&1 || {
  python3 -m pip install -q "kubernetes-validate==1.37.0"
  ! command -v pyenv >/dev/null || pyenv rehash
}
manifests=(../../deploy/kubernetes/*.yaml)
# kustomization.yaml is kustomize's, not a Kubernetes resource.
resources=()
for manifest in "${manifests[@]}"; do
  [ "$(basename "$manifest")" = kustomization.yaml ] || resources+=("$manifest")
done
kubernetes-validate --strict --kubernetes-version "${KUBERNETES_VERSION:-1.30.0}" "${resources[@]}"
# Every file kustomization.yaml names exists.
for listed in $(awk '/^resources:/ {on=1; next} on && /^  - / {print $2} on && !/^  - / {on=0}' ../../deploy/kubernetes/kustomization.yaml); do
  [ -f "../../deploy/kubernetes/$listed" ] || { echo "kustomization.yaml names a missing $listed" >&2; exit 1; }
done
npm ci --no-audit --no-fund --silent
npx dockerfilelint ../../Dockerfile
