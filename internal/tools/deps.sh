#!/usr/bin/env bash
# Installs the Debian packages nua and its tests use for real: git (the
# server runs git-receive-pack; tests push with the git client), the OpenSSH
# client (tests push over ssh) and perl (a sample app's web process).
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v perl >/dev/null || need+=(perl-base)
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || need+=(golang-go)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing: ${need[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
