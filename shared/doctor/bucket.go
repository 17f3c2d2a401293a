package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/snapshot"
)

// ProbeDir is where the bucket probe writes, under each dataset's prefix: inside what the
// function's run role may write (<prefix>/<dataset>/*).
const ProbeDir = "_doctor"

// versioned is a store that can tell its bucket's versioning status (cos.Store).
type versioned interface {
	Bucket() string
	Versioning(ctx context.Context) (string, error)
}

// bucket writes one probe object under the dataset's prefix, checks that a second
// create-if-absent write of it is refused (the dataset lease relies on that), reads, lists and
// removes it; then reads the bucket's versioning status, once per bucket.
func (e *fnEnv) bucket(ctx context.Context, buckets map[string]bool) {
	store, prefix := e.fn.Store()
	datasetDir := strings.TrimPrefix(prefix+"/"+e.fn.Runner.Dataset()+"/", "/")
	dir := datasetDir + ProbeDir + "/"
	key := dir + "probe-" + strings.ToLower(rand.Text()[:12]) + ".txt"
	overwritten, err := probe(ctx, store, dir, key)
	if err != nil {
		c := Check{Name: "bucket writable", Status: Fail, Detail: err.Error(), Fix: "check TCUSAGE_SINK and the bucket"}
		if errors.Is(err, fs.ErrPermission) {
			c.Fix = fmt.Sprintf("allow PutObject, GetObject, HeadObject and DeleteObject on %s* and GetBucket with cos:prefix %s (deploy/%s/cam-policy.json)", datasetDir, datasetDir, e.name)
		}
		e.add(c)
		return
	}
	e.add(Check{Name: "bucket writable", Status: OK, Detail: "wrote, read, listed and removed " + key})
	if overwritten {
		e.add(Check{Name: "create-if-absent", Status: Fail, Detail: "a second write with x-cos-forbid-overwrite replaced the probe object instead of being refused",
			Fix: "suspend the bucket's versioning (COS ignores x-cos-forbid-overwrite on a versioned bucket) or remove what drops the header: without it two writers can both take the dataset's lease"})
	} else {
		e.add(Check{Name: "create-if-absent", Status: OK, Detail: "a second write of the probe object was refused, as the dataset lease needs"})
	}
	if v, ok := store.(versioned); ok && !buckets[v.Bucket()] {
		buckets[v.Bucket()] = true
		e.versioning(ctx, v)
	}
}

// versioning reads the bucket's versioning status: it must not be Enabled.
func (e *fnEnv) versioning(ctx context.Context, v versioned) {
	const name = "bucket versioning off"
	status, err := v.Versioning(ctx)
	switch {
	case errors.Is(err, fs.ErrPermission):
		e.add(Check{Name: name, Status: Warn, Detail: "cannot read bucket " + v.Bucket() + "'s versioning: " + err.Error(),
			Fix: "run doctor with credentials allowed cos:GetBucketVersioning (the run roles are not), or check the bucket's versioning in the COS console; the create-if-absent check stands in for it"})
	case err != nil:
		e.add(Check{Name: name, Status: Warn, Detail: "cannot read bucket " + v.Bucket() + "'s versioning: " + err.Error()})
	case status == "Enabled":
		e.add(Check{Name: name, Status: Fail, Detail: "bucket " + v.Bucket() + " has versioning Enabled: COS ignores x-cos-forbid-overwrite there, so two writers could both take a dataset's lease",
			Fix: "suspend versioning on the bucket (deploy/README.md, Scale), or use a bucket without it"})
	case status == "":
		e.add(Check{Name: name, Status: OK, Detail: "bucket " + v.Bucket() + ": versioning never enabled"})
	default:
		e.add(Check{Name: name, Status: OK, Detail: "bucket " + v.Bucket() + ": versioning " + status})
	}
}

// probe puts key (create-if-absent), tries to put it again (overwritten tells whether that
// succeeded, which it must not), then heads, lists, gets and deletes it and checks that it is
// gone. The probe object is removed even when a step fails.
func probe(ctx context.Context, store snapshot.Store, dir, key string) (overwritten bool, err error) {
	body := []byte("tcusage doctor probe, " + time.Now().UTC().Format(time.RFC3339) + "; safe to delete\n")
	opt := snapshot.PutOptions{ContentType: "text/plain; charset=utf-8", IfAbsent: true}
	if err := store.Put(ctx, key, bytes.NewReader(body), opt); err != nil {
		return false, fmt.Errorf("put: %w", err)
	}
	removed := false
	defer func() {
		if !removed {
			_ = store.Delete(context.WithoutCancel(ctx), key) // removed even when a later step fails
		}
	}()
	switch err := store.Put(ctx, key, bytes.NewReader(body), opt); {
	case err == nil:
		overwritten = true
	case !errors.Is(err, fs.ErrExist):
		return false, fmt.Errorf("put again: %w", err)
	}
	info, err := store.Head(ctx, key)
	if err != nil {
		return overwritten, fmt.Errorf("head: %w", err)
	}
	if info.Size != int64(len(body)) {
		return overwritten, fmt.Errorf("head: %d bytes, want %d", info.Size, len(body))
	}
	list, err := store.List(ctx, dir)
	if err != nil {
		return overwritten, fmt.Errorf("list: %w", err)
	}
	found := false
	for _, o := range list {
		found = found || o.Key == key
	}
	if !found {
		return overwritten, fmt.Errorf("list: %s is not listed under %s", key, dir)
	}
	rc, err := store.Get(ctx, key)
	if err != nil {
		return overwritten, fmt.Errorf("get: %w", err)
	}
	got, err := io.ReadAll(io.LimitReader(rc, 1<<16))
	rc.Close()
	if err != nil || !bytes.Equal(got, body) {
		return overwritten, fmt.Errorf("get: the content read back differs (%v)", err)
	}
	if err := store.Delete(ctx, key); err != nil {
		return overwritten, fmt.Errorf("delete: %w", err)
	}
	removed = true
	if _, err := store.Head(ctx, key); !errors.Is(err, fs.ErrNotExist) {
		return overwritten, fmt.Errorf("delete: the object is still there (%v)", err)
	}
	return overwritten, nil
}
