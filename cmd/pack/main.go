// Command pack builds the SCF functions for the Go1 runtime and packages each one for upload.
//
// Usage:
//
//	go run ./cmd/pack [-o dist] [function ...]
//
// With no function names it packs every function under functions/ that tcusage deploys
// (telcall, trtcusage, roomusage, essbill). For each function it:
//
//   - builds ./functions/<name> for linux/amd64 with CGO_ENABLED=0, -trimpath and -ldflags="-s -w",
//     writing the executable as <out>/<name>/main (the directory serverless.yml deploys);
//   - writes <out>/<name>.zip holding that one file, named main, at the zip root, with Unix mode
//     0755 and a fixed modification time, so the same binary always gives the same zip;
//   - prints the name, the binary size, the zip size and the zip's SHA-256.
//
// The Go1 runtime starts the file named by the function's handler, which must sit at the zip root
// ("main" here); see deploy/README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}
