package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
)

// sizes builds the four functions like cmd/pack and prints their stripped sizes.
func sizes(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp(os.Getenv("BENCH_DIR"), "tcusage-size-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	names := []string{"telcall", "trtcusage", "roomusage", "essbill"}
	pkgs := map[string]string{}
	for _, n := range names {
		pkgs[n] = "./functions/" + n
	}
	pkgs["hello"] = "./cmd/bench/hello"
	bins, err := buildFunctions(ctx, dir, pkgs)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n### Stripped linux/amd64 binaries (-trimpath -ldflags=\"-s -w\", CGO_ENABLED=0)")
	fmt.Fprintln(out, "\n| binary | bytes | MB |")
	fmt.Fprintln(out, "|---|---|---|")
	for _, n := range slices.Concat(names, []string{"hello"}) {
		st, err := os.Stat(bins[n])
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| %s | %d | %.2f |\n", n, st.Size(), float64(st.Size())/(1<<20))
	}
	return nil
}
