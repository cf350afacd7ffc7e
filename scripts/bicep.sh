#!/usr/bin/env bash
# The Bicep compiler and linter for infra/ (npm run infra:build, npm test, test/infra/infra.test.ts):
#   bash scripts/bicep.sh build [DIR]    lint infra/main.bicep, then compile it to DIR/main.json (default dist/infra)
#   bash scripts/bicep.sh compile DIR    compile only (the infra test compiles into a temporary folder)
#   bash scripts/bicep.sh lint           lint only
#   bash scripts/bicep.sh ensure         find or install the compiler, print nothing when it is there
#   bash scripts/bicep.sh version        its version line
# Any warning or error fails (justify a rule's level in infra/bicepconfig.json instead). The compiler is, in order:
# `bicep` on PATH; the one `az bicep install` put in ~/.azure/bin; else the NuGet package Azure.Bicep.CommandLine.<rid>
# at the version pinned in scripts/bicep-cli.proj, restored with `dotnet restore` into .tmp/bicep/ (ignored by git).
# Azure's resource types are compiled into the CLI: no network is needed after the restore (no br: modules here).
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=scripts/bicep-cli.proj
CACHE=.tmp/bicep
TEMPLATE=infra/main.bicep
PINNED=$(sed -n 's/.*PackageDownload Include="Azure\.Bicep\.CommandLine\.[^"]*" Version="\[\([0-9.]*\)\]".*/\1/p' "$PROJECT")
[ -n "$PINNED" ] || { echo "bicep: no pinned version found in $PROJECT" >&2; exit 1; }

# The .NET runtime inside the CLI (and the SDK that restores it) needs ICU unless told to run without culture data;
# compiling a template needs none (the output is the same byte for byte).
if [ "$(uname -s)" = Linux ] && ! ldconfig -p 2>/dev/null | grep -q 'libicuuc\.so'; then
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
fi

runtime_id() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=osx ;; *) os=unsupported ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unsupported ;; esac
  echo "$os-$arch"
}

install_hint() {
  echo "bicep: no Bicep CLI found: install the .NET SDK (scripts/bicep.sh then restores Azure.Bicep.CommandLine $PINNED from NuGet), or the Bicep CLI itself (https://aka.ms/bicep-install), or run az bicep install" >&2
}

# Prints the compiler's path; installs the pinned one if there is no other.
find_bicep() {
  if command -v bicep >/dev/null 2>&1; then
    command -v bicep
    return
  fi
  local az_bicep="${AZURE_CONFIG_DIR:-$HOME/.azure}/bin/bicep"
  if command -v az >/dev/null 2>&1 && [ -x "$az_bicep" ]; then
    echo "$az_bicep"
    return
  fi
  local rid
  rid=$(runtime_id)
  local cached="$CACHE/packages/azure.bicep.commandline.$rid/$PINNED/tools/bicep"
  if [ -x "$cached" ]; then
    echo "$cached"
    return
  fi
  if ! command -v dotnet >/dev/null 2>&1; then
    install_hint
    return 1
  fi
  if [[ "$rid" == *unsupported* ]]; then
    echo "bicep: no Azure.Bicep.CommandLine package for $(uname -s) $(uname -m): install the Bicep CLI (https://aka.ms/bicep-install)" >&2
    return 1
  fi
  echo "installing Bicep CLI $PINNED ($rid) from NuGet into $CACHE/ (dotnet restore $PROJECT)" >&2
  local log="$CACHE/restore.log"
  mkdir -p "$CACHE"
  # The restore's intermediate files go to the cache too, not beside the project.
  if ! dotnet restore "$PROJECT" --packages "$CACHE/packages" -p:BicepRid="$rid" \
    -p:MSBuildProjectExtensionsPath="$PWD/$CACHE/obj/" -nologo -v:quiet >"$log" 2>&1 || [ ! -f "$cached" ]; then
    cat "$log" >&2
    echo "bicep: dotnet restore of Azure.Bicep.CommandLine.$rid $PINNED failed (above): NuGet must be reachable, or install the Bicep CLI (https://aka.ms/bicep-install)" >&2
    return 1
  fi
  chmod +x "$cached"
  echo "$cached"
}

# Runs the compiler; fails on a non-zero exit or on any warning or error in its output, which it prints.
run_clean() {
  local what=$1
  shift
  local output status=0
  output=$("$BICEP" "$@" 2>&1) || status=$?
  if [ "$status" -ne 0 ] || grep -qE ' : (Warning|Error) ' <<<"$output"; then
    [ -z "$output" ] || echo "$output" >&2
    echo "bicep $what: $TEMPLATE is not clean (Bicep $(bicep_version)): fix the above, or justify a rule's level in infra/bicepconfig.json" >&2
    exit 1
  fi
}

bicep_version() {
  "$BICEP" --version 2>/dev/null | sed -n 's/^Bicep CLI version \([0-9.]*\).*/\1/p'
}

command=${1:-build}
BICEP=$(find_bicep)
case "$command" in
  ensure) ;;
  version)
    echo "Bicep CLI $(bicep_version) ($BICEP; pinned: $PINNED)"
    ;;
  lint)
    run_clean lint lint "$TEMPLATE"
    ;;
  compile)
    [ -n "${2:-}" ] || { echo "usage: bash scripts/bicep.sh compile DIR" >&2; exit 2; }
    mkdir -p "$2"
    run_clean build build "$TEMPLATE" --outdir "$2"
    ;;
  build)
    out=${2:-dist/infra}
    mkdir -p "$out"
    run_clean lint lint "$TEMPLATE"
    run_clean build build "$TEMPLATE" --outdir "$out"
    version=$(bicep_version)
    note=""
    [ "$version" = "$PINNED" ] || note=" (pinned: $PINNED)"
    echo "$TEMPLATE: linted clean and compiled to $out/main.json by Bicep $version$note"
    ;;
  *)
    echo "usage: bash scripts/bicep.sh [build [DIR] | compile DIR | lint | ensure | version]" >&2
    exit 2
    ;;
esac
