#!/usr/bin/env bash
# The one test command (README, .ci/run): installs what the tests need on a fresh Debian 12
# machine, builds, and runs the whole suite. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages from Debian: graphviz renders --graphviz .svg/.png; etcd-server is the managed
# etcd of the cluster tests, etcd-client their etcdctl (docs/cluster.md's walk-through commands); systemd
# and dbus run the svc tests (a user manager in a private mount namespace, a private system bus),
# packagekit and apt-utils (apt-ftparchive) the pkg tests against a local apt repository.
debian_packages=(graphviz etcd-server etcd-client systemd dbus packagekit apt-utils)
missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages from the lockfile, then the build: tsc into dist/, the bundle and its code caches.
npm ci --no-audit --no-fund
npm run build
npx vitest run "$@"
