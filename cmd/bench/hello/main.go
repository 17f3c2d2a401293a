// Command hello is the floor for cold-start measurements: an SCF Go1 function on the same runtime
// (shared/scf) whose handler answers a constant. cmd/bench builds and starts it exactly like a
// tcusage function.
package main

import (
	"context"

	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
)

type answer struct {
	Hello string `json:"hello"`
}

func main() {
	scf.Start(func(context.Context, scfevent.Event) (answer, error) { return answer{Hello: "world"}, nil })
}
