package snapshot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A dataset has one writer at a time: whoever holds its lease. The lease lives in the store, so
// that it binds every process that writes the dataset (timer invocations on any SCF instance, a
// backfill on a laptop, an HTTP save), and it is built on one atomic operation, the Put with
// IfAbsent (COS x-cos-forbid-overwrite, an exclusive create on disk):
//
//	<prefix>/<dataset>/_lease/<generation>.json
//
// Every change of hands writes the next generation, only if absent: taking a free or expired
// lease, renewing it, releasing it. Two would-be writers of the same generation cannot both
// succeed, so two takers of an expired lease never both win, and a holder that renews after its
// lease was taken over finds out (ErrLeaseLost) instead of writing on. The current state is the
// highest generation; older ones are deleted by the next holder.
//
// On a COS bucket with versioning enabled, x-cos-forbid-overwrite protects nothing (a write adds
// a version): the lease then does not exclude anybody. Keep versioning off on the bucket.

// LeaseDirName is the folder, below a dataset's, that holds its lease generations.
const LeaseDirName = "_lease"

// ErrLeaseHeld is wrapped by the error of an Acquire that found the lease held (see *HeldError).
var ErrLeaseHeld = errors.New("dataset lease held by another writer")

// ErrLeaseLost is wrapped by the error of a Renew (and of work under the lease) after another
// writer took the lease over: the holder must stop writing.
var ErrLeaseLost = errors.New("dataset lease lost to another writer")

// LeaseRecord is one generation of a dataset's lease.
type LeaseRecord struct {
	Dataset    string    `json:"dataset"`
	Generation int64     `json:"generation"`
	Holder     string    `json:"holder"`
	Token      string    `json:"token"` // random per acquisition: tells a holder's own generations apart
	AcquiredAt time.Time `json:"acquired_at"`
	RenewedAt  time.Time `json:"renewed_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Released   bool      `json:"released,omitempty"`
	// NextCall, in a released generation, tells per API action when the next call may go at the
	// action's pacing: the rate limit is per account, so the next writer waits for it.
	NextCall map[string]time.Time `json:"next_call,omitempty"`
	// Confirmed lists, per day (YYYY-MM-DD), the apps whose data a run fetched again and found
	// unchanged: such a delivery writes nothing, so the manifest's fetched_at does not move, and
	// this is where later runs of the same cycle learn that those app-days are done. A holder
	// takes it over when acquiring the lease and hands it on in every generation it writes; the
	// runner keeps only the current cycle's (see Lease.Confirm).
	Confirmed map[string]Confirmation `json:"confirmed,omitempty"`
}

// Confirmation is when a day's apps were last found unchanged (the earliest time, when several
// runs found some of them), and which.
type Confirmation struct {
	At   time.Time `json:"at"`
	Apps []string  `json:"apps"`
}

// Free reports whether another writer may take the lease at now: released, or expired for longer
// than skew (the clocks of two writers may differ by that much).
func (r *LeaseRecord) Free(now time.Time, skew time.Duration) bool {
	return r == nil || r.Released || now.After(r.ExpiresAt.Add(skew))
}

// HeldError is the error of an Acquire that found the lease held: who holds it, and until when
// (unless renewed).
type HeldError struct {
	Dataset, Holder string
	ExpiresAt       time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("dataset %s: lease held by %s until %s", e.Dataset, e.Holder, e.ExpiresAt.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrLeaseHeld.
func (e *HeldError) Unwrap() error { return ErrLeaseHeld }

// LeaseConfig tunes a lease. The zero value of each field means its default.
type LeaseConfig struct {
	// TTL is how long the lease lasts without renewal (default 60 s). A holder renews it every
	// TTL/3.
	TTL time.Duration
	// Skew is how long past its expiry a lease must be before another writer takes it: the
	// largest difference between writers' clocks (default TTL/6).
	Skew time.Duration
	// Now is the wall clock (default time.Now). Leases compare times across processes: never a
	// shifted business clock.
	Now func() time.Time
	// Previous is the token of a lease this process held and has stopped using, whose release
	// may have failed (a store fault): a lease still held with that token is taken at once
	// instead of after its expiry, since its holder is known to be done.
	Previous string
}

func (c LeaseConfig) withDefaults() LeaseConfig {
	if c.TTL <= 0 {
		c.TTL = time.Minute
	}
	if c.Skew <= 0 {
		c.Skew = c.TTL / 6
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Lease is a held lease. Its methods are safe for concurrent use.
type Lease struct {
	store   Store
	dir     string
	dataset string
	cfg     LeaseConfig

	mu   sync.Mutex
	rec  LeaseRecord
	prev *LeaseRecord
	lost bool

	pruning sync.WaitGroup // the renewals' prunes, which the release waits for
}

// IsLeaseKey reports whether key is a lease generation (…/<dataset>/_lease/…): coordination
// state, not data, which comparisons of what a dataset holds leave out.
func IsLeaseKey(key string) bool {
	return strings.HasPrefix(key, LeaseDirName+"/") || strings.Contains(key, "/"+LeaseDirName+"/")
}

// LeaseDir returns the key prefix, ending in a slash, of a dataset's lease: <prefix>/<dataset>/_lease/.
func LeaseDir(prefix, dataset string) (string, error) {
	return DatasetKey(prefix, dataset, LeaseDirName+"/")
}

// ReadLease returns the current generation of a dataset's lease (nil when none was ever taken).
func ReadLease(ctx context.Context, store Store, prefix, dataset string) (*LeaseRecord, error) {
	dir, err := LeaseDir(prefix, dataset)
	if err != nil {
		return nil, fmt.Errorf("read lease: %w", err)
	}
	return readLease(ctx, store, dir)
}

func readLease(ctx context.Context, store Store, dir string) (*LeaseRecord, error) {
	objs, err := store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("read lease: %w", err)
	}
	for i := len(objs) - 1; i >= 0; i-- { // sorted by key: the highest generation last
		if _, ok := generationOf(dir, objs[i].Key); !ok {
			continue
		}
		b, err := ReadObject(ctx, store, objs[i].Key)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted by a newer holder meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read lease: %w", err)
		}
		var rec LeaseRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("read lease %s: %w", objs[i].Key, err)
		}
		return &rec, nil
	}
	return nil, nil
}

// generationOf returns the generation a lease key names.
func generationOf(dir, key string) (int64, bool) {
	name, ok := strings.CutPrefix(key, dir)
	if !ok || len(name) != 20+len(".json") || !strings.HasSuffix(name, ".json") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(name, ".json"), 10, 64)
	return n, err == nil && n > 0
}

func generationKey(dir string, gen int64) string { return fmt.Sprintf("%s%020d.json", dir, gen) }

// AcquireLease takes the lease of a dataset for holder (a name people can read: which function,
// invocation or command). It fails with a *HeldError when another writer holds it.
func AcquireLease(ctx context.Context, store Store, prefix, dataset, holder string, cfg LeaseConfig) (*Lease, error) {
	cfg = cfg.withDefaults()
	dir, err := LeaseDir(prefix, dataset)
	if err != nil {
		return nil, fmt.Errorf("acquire lease: %w", err)
	}
	cur, err := readLease(ctx, store, dir)
	if err != nil {
		return nil, err
	}
	now := cfg.Now()
	if !cur.Free(now, cfg.Skew) && (cfg.Previous == "" || cur.Token != cfg.Previous) {
		return nil, &HeldError{Dataset: dataset, Holder: cur.Holder, ExpiresAt: cur.ExpiresAt}
	}
	var gen int64 = 1
	if cur != nil {
		gen = cur.Generation + 1
	}
	l := &Lease{store: store, dir: dir, dataset: dataset, cfg: cfg}
	rec := LeaseRecord{Dataset: dataset, Generation: gen, Holder: holder, Token: rand.Text(), AcquiredAt: now.UTC(), RenewedAt: now.UTC(), ExpiresAt: now.Add(cfg.TTL).UTC()}
	if cur != nil {
		rec.Confirmed = cur.Confirmed
	}
	if err := l.write(ctx, rec); err != nil {
		if errors.Is(err, fs.ErrExist) { // another writer took this generation first
			if won, rerr := readLease(ctx, store, dir); rerr == nil && won != nil {
				return nil, &HeldError{Dataset: dataset, Holder: won.Holder, ExpiresAt: won.ExpiresAt}
			}
			return nil, fmt.Errorf("acquire lease: %w", ErrLeaseHeld)
		}
		return nil, err
	}
	l.rec, l.prev = rec, cur
	l.prune(ctx, gen-1)
	return l, nil
}

// Previous returns the generation before this holder's (nil when the lease was never taken):
// the last writer, and the pacing it handed over.
func (l *Lease) Previous() *LeaseRecord { return l.prev }

// write creates the generation rec describes, only if absent.
func (l *Lease) write(ctx context.Context, rec LeaseRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	err = l.store.Put(ctx, generationKey(l.dir, rec.Generation), bytes.NewReader(b), PutOptions{IfAbsent: true, ContentType: "application/json"})
	if err != nil {
		return fmt.Errorf("lease generation %d: %w", rec.Generation, err)
	}
	return nil
}

// prune deletes generations before keep (best effort: they only take space).
func (l *Lease) prune(ctx context.Context, keep int64) {
	objs, err := l.store.List(ctx, l.dir)
	if err != nil {
		return
	}
	for _, o := range objs {
		if g, ok := generationOf(l.dir, o.Key); ok && g < keep {
			_ = l.store.Delete(ctx, o.Key) // best effort; a later holder prunes again
		}
	}
}

// Record returns the lease's current generation.
func (l *Lease) Record() LeaseRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec
}

// Valid reports whether the holder may still write at now: the lease is not lost and expires
// later than a renewal interval from now (so that a write started now ends before a taker could
// come).
func (l *Lease) Valid(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.lost && now.Before(l.rec.ExpiresAt.Add(-l.cfg.TTL/3))
}

// Check returns ErrLeaseLost (wrapped) when the holder may no longer write: the guard to call
// before each change to the store.
func (l *Lease) Check() error {
	if l.Valid(l.cfg.Now()) {
		return nil
	}
	return fmt.Errorf("dataset %s: %w (or expired before it could be renewed)", l.dataset, ErrLeaseLost)
}

// Confirm replaces the confirmations the lease hands on (LeaseRecord.Confirmed) from its next
// generation on: its renewals and its release.
func (l *Lease) Confirm(c map[string]Confirmation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rec.Confirmed = c
}

// Renew extends the lease by its TTL, writing the next generation. If another writer took the
// lease meanwhile, it returns an error wrapping ErrLeaseLost, and the lease stays lost.
func (l *Lease) Renew(ctx context.Context) error {
	return l.next(ctx, false, nil)
}

// Release gives the lease up, so that the next writer need not wait for its expiry, handing over
// when each API action may next be called (nil: none called). A lease already lost is left to its
// new holder.
func (l *Lease) Release(ctx context.Context, nextCall map[string]time.Time) error {
	return l.next(ctx, true, nextCall)
}

func (l *Lease) next(ctx context.Context, release bool, nextCall map[string]time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return fmt.Errorf("dataset %s: %w", l.dataset, ErrLeaseLost)
	}
	now := l.cfg.Now()
	rec := l.rec
	rec.Generation++
	rec.RenewedAt, rec.ExpiresAt, rec.Released = now.UTC(), now.Add(l.cfg.TTL).UTC(), release
	if release {
		rec.ExpiresAt, rec.NextCall = now.UTC(), nextCall
	}
	err := l.write(ctx, rec)
	if errors.Is(err, fs.ErrExist) {
		l.lost = true
		return fmt.Errorf("dataset %s: %w", l.dataset, ErrLeaseLost)
	}
	if err != nil {
		return err
	}
	l.rec = rec
	if release {
		// The holder is done: prune now, and let no renewal's prune outlive the release (a
		// command that returns must leave the store as it stands, not delete a generation later).
		l.pruning.Wait()
		l.prune(context.WithoutCancel(ctx), rec.Generation-1)
		return nil
	}
	l.pruning.Go(func() { l.prune(context.WithoutCancel(ctx), rec.Generation-1) })
	return nil
}

// Keep renews the lease every TTL/3 until ctx ends or the lease is lost or cannot be renewed in
// time; the returned context ends then too (with cause ErrLeaseLost), so that work under it
// stops. stop ends the renewals.
func (l *Lease) Keep(ctx context.Context) (context.Context, func()) {
	kctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(l.cfg.TTL / 3)
		defer t.Stop()
		for {
			select {
			case <-kctx.Done():
				return
			case <-t.C:
			}
			err := l.Renew(kctx)
			if errors.Is(err, ErrLeaseLost) || l.Check() != nil {
				cancel(fmt.Errorf("dataset %s: %w", l.dataset, ErrLeaseLost))
				return
			}
		}
	}()
	return kctx, func() { cancel(nil); <-done }
}
