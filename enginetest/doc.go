// Package enginetest reads the snapshots tcusage writes with a real query engine (DuckDB, through
// its database/sql driver) and checks what the engine computes against the emulator's ground
// truth.
//
// It is a nested module of its own so that the DuckDB driver, which needs cgo and a large static
// library, never becomes a dependency of the main module or of the function binaries (those are
// built with CGO_ENABLED=0). Run it with
//
//	cd enginetest && go test -count=1 ./...
//
// What a consumer trips over when querying the snapshots is written down in FINDINGS.md beside
// this file. The package itself has no code: everything is in its tests.
package enginetest
