#!/usr/bin/env bash
# The live demo: installs what is missing (scripts/setup.sh), then runs scripts/demo.ts, which builds
# network namespaces, starts the real tumblerd and sshd, and narrates a knock, an ssh login and an
# attacker's failed attempts. Cleans up after itself. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts
