package snapshottest

import (
	"context"
	"io"
	"sync"

	"github.com/tcusage/tcusage/shared/snapshot"
)

// Writes is a Store that records the keys written through it (Put and Delete), leases apart:
// tests use it to show what a run wrote, or that it wrote nothing.
type Writes struct {
	snapshot.Store
	mu   sync.Mutex
	keys []string
}

func (w *Writes) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	w.note(key)
	return w.Store.Put(ctx, key, body, o)
}

func (w *Writes) Delete(ctx context.Context, key string) error {
	w.note(key)
	return w.Store.Delete(ctx, key)
}

func (w *Writes) note(key string) {
	if snapshot.IsLeaseKey(key) {
		return
	}
	w.mu.Lock()
	w.keys = append(w.keys, key)
	w.mu.Unlock()
}

// Take returns the keys written since the last Take, in the order written.
func (w *Writes) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.keys
	w.keys = nil
	return out
}
