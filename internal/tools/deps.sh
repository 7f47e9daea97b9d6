#!/usr/bin/env bash
# Installs the Debian packages nua and its tests use for real: git (the
# server runs git-receive-pack; tests push with the git client), the OpenSSH
# client (tests push over ssh), perl (a sample app's web process), the
# runtimes of the toolchains the tests build (Node.js with npm, Python 3
# with venv, Ruby with Bundler, and cargo unless a Rust toolchain, e.g.
# from rustup, is on PATH already; as root, Debian's Python and cargo in
# any case, for sandboxed builds), nix (the Nix build backend; Debian's
# nix-bin, run as root on the local store, with the nixbld build users its
# sandbox needs), podman (the Dockerfile backend's engine) and the addons'
# servers with their clients (PostgreSQL, Redis, MariaDB); then, for the
# tests only, the real peers they drive: an SMTP server (aiosmtpd),
# Chromium and an ACME server (pebble).
#
#   deps.sh           what the server and the tests need (make deps)
#   deps.sh --server  what the server needs (install.sh)
set -euo pipefail
tests=yes
[ "${1:-}" = --server ] && tests=
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
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
# As root, nua sandboxes apps: their builds run as users of their own, who
# cannot enter root's home, so a Python from pyenv or a Rust from rustup
# there is out of their reach. Debian's are not.
if [ "$(id -u)" -eq 0 ]; then
	[ -x /usr/bin/python3 ] || need+=(python3)
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
	[ -x /usr/bin/cargo ] || need+=(cargo)
fi
command -v nix >/dev/null || need+=(nix-bin)
# podman serves the Docker Engine API for the Dockerfile backend; crun fails
# on this kind of host, runc works; catatonit is the containers' init;
# busybox-static makes the local base image.
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
# Addons: the servers nua runs for apps (PostgreSQL, Redis, MariaDB) and
# their clients (pg:psql, redis:cli, mariadb:cli).
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
[ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb >/dev/null || need+=(mariadb-client)
command -v openssl >/dev/null || need+=(openssl)
if [ -n "$tests" ]; then
	# A real SMTP server for the email notifications' tests.
	/usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || need+=(python3-aiosmtpd)
	# The dashboard's tests drive Debian's Chromium.
	command -v chromium >/dev/null || need+=(chromium)
	# pebble is the ACME server the HTTPS tests get certificates from (it
	# ships pebble-challtestsrv, its DNS); openssl makes its listener's cert.
	command -v pebble >/dev/null || need+=(pebble)
	command -v pebble-challtestsrv >/dev/null || need+=(pebble)
fi
if [ ${#need[@]} -gt 0 ]; then
	echo "installing: ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}"
fi
if ! getent group nixbld >/dev/null; then
	$sudo groupadd -r nixbld
	for i in 1 2 3 4; do
		$sudo useradd -r -g nixbld -G nixbld -M -N -d /var/empty -s /usr/sbin/nologin "nixbld$i"
	done
fi
