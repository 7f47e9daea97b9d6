#!/usr/bin/env bash
# Installs the Debian packages nua and its tests use for real: git (the
# server runs git-receive-pack; tests push with the git client), the OpenSSH
# client (tests push over ssh), perl (a sample app's web process), and the
# runtimes of the toolchains the tests build: Node.js with npm, Python 3
# with venv, Ruby with Bundler, and cargo (unless a Rust toolchain, e.g.
# from rustup, is on PATH already).
set -euo pipefail
need=()
command -v git >/dev/null || need+=(git)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v perl >/dev/null || need+=(perl-base)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3)
# Debian ships venv's pip bootstrap (ensurepip) in python3-venv.
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || need+=(golang-go)
command -v ruby >/dev/null || need+=(ruby)
command -v bundle >/dev/null || need+=(ruby-bundler)
command -v cargo >/dev/null || need+=(cargo)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing: ${need[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
