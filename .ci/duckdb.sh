#!/usr/bin/env bash
# Query-engine tier: the nested module enginetest/ writes snapshots with the functions against
# the emulator and reads them back with DuckDB (github.com/duckdb/duckdb-go/v2, cgo, with its
# prebuilt static library), checking DuckDB's aggregates against the emulator's ground truth.
#
#   .ci/duckdb.sh        vet, staticcheck and test enginetest/ (run by .ci/run; works by hand too)
#
# enginetest/ has its own go.mod so that the main module and the function binaries stay free of
# cgo; the root's ./... does not include it. Cold (nothing cached), the first build downloads
# about 32 MB of DuckDB library (linux-amd64 only) and compiles the cgo driver: about 20 s on top
# of a built main module; warm, the build is about 4 s and the tests about 11 s
# (enginetest/FINDINGS.md has the measurements).
#
# Deliberately not run here: `go mod verify`, `go mod download` and `go mod tidy` in enginetest/.
# They fetch the DuckDB library of every platform (darwin, windows, linux-arm64 too: about 1 GB
# unpacked), while `go test` fetches only the one it links. Run `go mod tidy` there by hand
# after changing its imports.
set -euo pipefail
cd "$(dirname "$0")/../enginetest"

# cgo needs a C and C++ toolchain (DuckDB is C++); the machine has one, a bare one may not.
if ! command -v g++ >/dev/null 2>&1; then
	echo "duckdb: installing g++ for cgo"
	apt-get update -qq && apt-get install -y -qq --no-install-recommends g++ >/dev/null
fi
export CGO_ENABLED=1

start=$SECONDS
go vet ./...
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... # the version .ci/run pins
echo "duckdb: enginetest built, vetted and staticchecked in $((SECONDS - start)) s"
start=$SECONDS
go test -count=1 ./...
echo "duckdb: enginetest tests took $((SECONDS - start)) s"
