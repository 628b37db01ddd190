#!/usr/bin/env bash
# Installs, as root, everything a fresh Debian 12 machine with Node 20 lacks to build, test and
# demo Tumbler: Debian packages, npm dependencies (native builds), the compiled JS and C helper,
# and the two local accounts the tests and demo use. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then echo "setup: run as root (it installs packages and creates accounts)" >&2; exit 1; fi

pkgs=(nftables iptables ipset libpcap-dev iproute2 openssh-server openssh-client tcpdump libcap2-bin
      build-essential python3 procps util-linux faketime p0f postgresql-15
      # npm run package and its tests: dpkg-shlibdeps, groff (man pages), systemd-analyze verify
      # (which runs man for the unit's Documentation= links)
      dpkg-dev groff-base man-db systemd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# PostgreSQL: only the server binaries are needed (tests start throwaway clusters of their own on a
# Unix socket); do not let the package create and start Debian's default cluster.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
  mkdir -p /etc/postgresql-common
  echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
fi
# The tests and the demo start their own sshd inside namespaces; the host's must not be needed.
mkdir -p /run/sshd

# Native modules build against this machine's Node headers; npm 11 runs only the install scripts
# listed in package.json "allowScripts" (better-sqlite3, pcap, raw-socket, esbuild).
export npm_config_nodedir="${npm_config_nodedir:-/usr}"
if [ ! -d node_modules ] || ! node -e "require('better-sqlite3');require('pcap');require('raw-socket')" 2>/dev/null; then
  npm ci --strict-allow-scripts --no-audit --no-fund
fi
npm run build

# The daemon's unprivileged worker account, and a plain user for the client side.
id tumbler >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin tumbler
id tmbuser >/dev/null 2>&1 || useradd --create-home --shell /bin/bash tmbuser
# No password, but not locked: sshd (UsePAM no, as in the demo and tests) refuses key logins to
# accounts whose password field starts with "!".
usermod -p '*' tmbuser
# The worker (user tumbler) and the client (tmbuser) run code from this checkout: every directory
# above it must let them pass (search permission only; nothing becomes listable or readable).
# A checkout in a private temporary directory (mode 0700) is the usual reason this is needed.
here=$(pwd -P)
for u in tumbler tmbuser; do
  setpriv --reuid="$u" --regid="$u" --init-groups -- test -r "$here/package.json" && continue
  d=""
  IFS=/ read -ra parts <<< "${here#/}"
  for part in "${parts[@]}"; do   # from the top down: each check sees its parents fixed
    d="$d/$part"
    if ! setpriv --reuid="$u" --regid="$u" --init-groups -- test -x "$d"; then
      echo "setup: letting other users pass through $d (chmod o+x) so $u can reach the checkout"
      chmod o+x "$d"
    fi
  done
done
echo "setup: done"
