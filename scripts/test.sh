#!/usr/bin/env bash
# The whole suite: unit, vectors, fuzz, integration, then end-to-end (root, network namespaces).
# Usage: npm test            (everything)
#        bash scripts/test.sh test/unit/shared   (a subset: any files or folders under test/)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then set -- test/unit test/vectors test/fuzz test/integration test/e2e; fi
mapfile -t files < <(find "$@" -name '*.test.ts' 2>/dev/null | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files under: $*" >&2; exit 1; fi
# e2e and netns tests share kernel state (namespaces, nft tables): run files one at a time.
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
