#!/usr/bin/env bash
# Runs the tests of DGMO's Go components (examples/dgmo/native) for both platforms they ship on:
#   - linux: gofmt, `go vet ./...` and `go test ./...`, here;
#   - windows/amd64: `go vet ./...`, then each package's tests cross-compiled (`go test -c`) and
#     run under this clone's wine 10 (scripts/lib/wine-toolchain.sh installs it into
#     .build-dgmo/wine on first use), from the package's directory as `go test` would.
# The build environment is dgmo-build's (Tools/dgmo-build/Compile.swift): standard library only,
# no cgo, no module proxy, no toolchain download. The build cache is kept in
# .build-dgmo/go-cache, shared with dgmo-build: the first run compiles the standard library for both targets (about
# 1.5 min on 2 CPUs), later runs take 10-15 s, most of it wine starting up.
#
# usage: scripts/go-tests.sh [GO]
#   GO (argument, else the environment variable GO): the Go toolchain, as its root directory or
#   its bin/go; default .build-dgmo/toolchain/lib/python3.11/site-packages/go (dgmo-build installs it),
#   relative to the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

die() { echo "go-tests: $*" >&2; exit 1; }

go=${1:-${GO:-.build-dgmo/toolchain/lib/python3.11/site-packages/go}}
[ -d "$go" ] && go=$go/bin/go
[ -x "$go" ] || die "no Go toolchain at $go (run make dgmo or dgmo-build, or pass its path as GO)"
go=$(cd "$(dirname "$go")" && pwd)/$(basename "$go")
export GOROOT=${go%/bin/go}
[ -d "$GOROOT/src/runtime" ] || die "$go is not inside a Go root ($GOROOT/src/runtime missing)"
export CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local GOENV=off GOTELEMETRY=off
# The cache dgmo-build fills for linux-x64 (the standard library is compiled once for both).
export GOCACHE=$root/.build-dgmo/go-cache GOPATH=$root/.build-dgmo/go-test-cache/path
unset GOOS GOARCH DGMO_PARENT_PID

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd examples/dgmo/native

unformatted=$("$GOROOT/bin/gofmt" -l .)
[ -z "$unformatted" ] || die "not gofmt-formatted: $(echo "$unformatted" | tr '\n' ' ')"

echo "go-tests: linux: go vet, go test ./..."
GOOS=linux "$go" vet ./... || die "go vet failed for linux"
"$go" test -count=1 ./... || die "go test failed for linux"

echo "go-tests: windows/amd64: go vet, go test -c, run under wine"
GOOS=windows GOARCH=amd64 "$go" vet ./... || die "go vet failed for windows"
# Each package that has tests, as "import-path directory".
mapfile -t pkgs < <(GOOS=windows GOARCH=amd64 "$go" list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}} {{.Dir}}{{end}}' ./...)
[ "${#pkgs[@]}" -gt 0 ] || die "no Go package with tests for windows"
# shellcheck source=lib/wine-toolchain.sh
. "$root/scripts/lib/wine-toolchain.sh"
wine_toolchain || die "cannot install wine (scripts/lib/wine-toolchain.sh)"
failed=()
for p in "${pkgs[@]}"; do
  pkg=${p%% *} dir=${p#* }
  exe=$out/$(basename "$pkg").test.exe
  GOOS=windows GOARCH=amd64 "$go" test -c -o "$exe" "$pkg" || die "cannot build the windows tests of $pkg"
  start=$SECONDS
  if (cd "$dir" && "$WINE" "$exe" -test.count=1 -test.timeout=2m > "$out/log" 2>&1 < /dev/null); then
    echo "ok   $pkg (windows/amd64, wine) $((SECONDS - start))s"
  else
    sed 's/^/    /' "$out/log" >&2
    echo "FAIL $pkg (windows/amd64, wine)" >&2
    failed+=("$pkg")
  fi
done
[ "${#failed[@]}" -eq 0 ] || die "windows tests failed under wine: ${failed[*]}"
echo "go-tests: all passed (linux and windows/amd64 under wine)"
