#!/usr/bin/env bash
# Fails when something checked in differs from what the tools write now:
#  - an example's generated code (examples/*/Generated) and event catalogue (examples/Orders/event-catalog.md);
#  - the generated references docs/reference/yaml.md (from the JSON Schema) and
#    docs/reference/configuration.md (from PlatformOptions and its XML docs);
#  - a code block in docs/**/*.md or README.md marked <!-- snippet: path#region --> that no
#    longer equals its source region.
# After an intended change: scripts/drift-check.sh --fix, then review and commit the diff.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLI=$ROOT/platform/Platform.Cli/bin/Release/net10.0/platform.dll
[ -f "$CLI" ] || dotnet build "$ROOT/platform/Platform.Cli" -c Release -nologo -clp:ErrorsOnly >/dev/null
fix=false; [ "${1:-}" = "--fix" ] && fix=true
status=0

mode=--check; $fix && mode=
dotnet "$CLI" generate "$ROOT/examples/Orders/definitions" --out "$ROOT/examples/Orders/Generated" --assembly-name Shop.Orders $mode || status=1

catalog=$ROOT/examples/Orders/event-catalog.md
if $fix; then
  dotnet "$CLI" catalog "$ROOT/examples/Orders/definitions" --out "$catalog" || status=1
else
  dotnet "$CLI" catalog "$ROOT/examples/Orders/definitions" --out "$catalog" --check || status=1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for reference in yaml configuration; do
  committed=$ROOT/docs/reference/$reference.md
  if $fix; then
    dotnet "$CLI" docs $reference --out "$committed"
  else
    dotnet "$CLI" docs $reference --out "$tmp/$reference.md" >/dev/null
    if ! cmp -s "$tmp/$reference.md" "$committed"; then
      echo "docs/reference/$reference.md is stale (platform docs $reference writes something else); run scripts/drift-check.sh --fix" >&2
      diff -u "$committed" "$tmp/$reference.md" 2>&1 | head -20 >&2 || true
      status=1
    fi
  fi
done

if $fix; then
  dotnet "$CLI" docs snippets --root "$ROOT" --fix || status=1
else
  dotnet "$CLI" docs snippets --root "$ROOT" || status=1
fi
exit $status
