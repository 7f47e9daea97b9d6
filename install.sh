#!/usr/bin/env bash
# Installs nua on this server and runs it.
#
#   ./install.sh                       # as root, from a checkout of nua
#   NUA_DOMAIN=apps.example.org NUA_KEY="$(cat ~/.ssh/id_ed25519.pub)" ./install.sh
#
# Installs git and the OpenSSH client from Debian, builds nua (Go 1.26 from
# /usr/local/go or the PATH), fetches Traefik (the release binary when the
# host can download it, else a build from source), creates the data
# directory, gives NUA_KEY to the first admin (the user "admin"), and starts
# `nua server` — as a systemd service where systemd runs, else in the
# foreground.
set -euo pipefail
cd "$(dirname "$0")"

DOMAIN=${NUA_DOMAIN:-localhost}
DATA=${NUA_DATA:-/var/lib/nua}
SSH_ADDR=${NUA_SSH_ADDR:-:2222}
HTTP_ADDR=${NUA_HTTP_ADDR:-:80}
PREFIX=${PREFIX:-/usr/local}
export PATH=$PATH:/usr/local/go/bin

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (it installs packages and a service)" >&2; exit 1; }
command -v go >/dev/null || { echo "install.sh: Go 1.26 is needed to build nua: install it to /usr/local/go" >&2; exit 1; }

internal/tools/deps.sh --server
make build
internal/tools/traefik.sh --download
install -m 0755 bin/nua "$PREFIX/bin/nua"
install -m 0755 bin/nua-cnb "$PREFIX/bin/nua-cnb"
install -m 0755 bin/traefik "$PREFIX/bin/traefik"
install -d -m 0700 "$DATA"
# The Go standard library, compiled once into the build cache every app
# shares, so that no first push pays for it (about a minute, once).
env -u GOCACHE "$PREFIX/bin/nua" --data "$DATA" warm || echo "install.sh: warming the build caches failed: the first Go push will compile the standard library" >&2

args=(--data "$DATA" server --ssh-addr "$SSH_ADDR" --http-addr "$HTTP_ADDR" --domain "$DOMAIN" --traefik "$PREFIX/bin/traefik")

if [ -d /run/systemd/system ]; then
	cat >/etc/systemd/system/nua.service <<UNIT
[Unit]
Description=nua: git push to deploy
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
ExecStart=$PREFIX/bin/nua ${args[*]}
Restart=on-failure
KillMode=mixed
TimeoutStopSec=60
# nua puts each app's processes in cgroups of their own below its unit's.
Delegate=yes
Environment=HOME=$DATA

[Install]
WantedBy=multi-user.target
UNIT
	systemctl daemon-reload
	systemctl enable --now nua
	for _ in $(seq 50); do [ -S "$DATA/nua.sock" ] && break; sleep 0.2; done
	if [ -n "${NUA_KEY:-}" ]; then
		printf '%s\n' "$NUA_KEY" | "$PREFIX/bin/nua" --data "$DATA" keys:add admin admin || true
	fi
	echo "nua is running (systemctl status nua)."
	echo "Push an app: git push ssh://nua@$(hostname -f):${SSH_ADDR##*:}/APP main"
	exit 0
fi

# No systemd: run in the foreground; add the key once the socket is up.
if [ -n "${NUA_KEY:-}" ]; then
	(
		for _ in $(seq 100); do [ -S "$DATA/nua.sock" ] && break; sleep 0.2; done
		printf '%s\n' "$NUA_KEY" | "$PREFIX/bin/nua" --data "$DATA" keys:add admin admin || true
	) &
fi
exec "$PREFIX/bin/nua" "${args[@]}"
