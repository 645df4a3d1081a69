#!/usr/bin/env bash
# Fails when an example's checked-in generated code differs from what the generator writes now.
# After an intended change: scripts/drift-check.sh --fix, then review and commit examples/*/Generated.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=$ROOT/platform/Platform.Cli/bin/Release/net10.0/platform.dll
[ -f "$CLI" ] || dotnet build "$ROOT/platform/Platform.Cli" -c Release -nologo -clp:ErrorsOnly >/dev/null
mode=--check; [ "${1:-}" = "--fix" ] && mode=
dotnet "$CLI" generate "$ROOT/examples/Orders/definitions" --out "$ROOT/examples/Orders/Generated" --assembly-name Shop.Orders $mode
