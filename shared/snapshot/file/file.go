// Package file is a snapshot.Store on a local directory, for local runs and tests.
//
// Writes go to a temporary file in the destination directory, which is synced, renamed over the
// key and followed by a sync of the directory, so a reader sees either the old or the new object,
// never a torn one, and a finished Put survives a crash. All access goes through an os.Root, so
// no key (and no symbolic link inside the directory) can reach outside it.
package file

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tcusage/tcusage/shared/snapshot"
)

// tmpPrefix starts the names of files being written; List skips them and keys may not use it.
const tmpPrefix = ".tmp-"

// tmpRandLen is the length of rand.Text(), the random tail of a temp file's name.
const tmpRandLen = 26

// tempName is the name Put writes the object called name under before renaming it:
// ".tmp-<name>-<rand.Text()>".
func tempName(name string) string { return tmpPrefix + name + "-" + rand.Text() }

// isTempName reports whether a file name is one tempName makes: ".tmp-", a non-empty name, "-",
// and 26 characters of the base32 alphabet rand.Text uses (A-Z, 2-7). Nothing else is the
// store's own temp file, whatever its name starts with.
func isTempName(n string) bool {
	rest, ok := strings.CutPrefix(n, tmpPrefix)
	if !ok || len(rest) < tmpRandLen+2 || rest[len(rest)-tmpRandLen-1] != '-' {
		return false
	}
	for _, c := range rest[len(rest)-tmpRandLen:] {
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// Store keeps objects as files under a root directory; keys map to slash-separated paths.
// It is safe for concurrent use.
type Store struct {
	root *os.Root
	dir  string
}

var _ snapshot.Store = (*Store)(nil)

// New opens (creating it if needed) the directory dir as a store.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("file store: empty directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	return &Store{root: root, dir: dir}, nil
}

// Dir returns the directory the store was opened on.
func (s *Store) Dir() string { return s.dir }

// Close releases the directory handle.
func (s *Store) Close() error { return s.root.Close() }

func checkKey(key string) error {
	if err := snapshot.ValidKey(key); err != nil {
		return err
	}
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, tmpPrefix) {
			return fmt.Errorf("%w %q: segment starts with %q", snapshot.ErrInvalidKey, key, tmpPrefix)
		}
	}
	return nil
}

// Put writes body to key atomically (temporary file, fsync, rename, fsync of the directory).
func (s *Store) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) (err error) {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("put %s: seek body: %w", key, err)
	}
	dir, name := path.Split(key)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp := path.Join(dir, tempName(name))
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			s.root.Remove(tmp)
		}
	}()
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, body})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if o.Size != 0 && n != o.Size {
		return fmt.Errorf("put %s: body has %d bytes, size says %d", key, n, o.Size)
	}
	if o.ContentMD5 != nil && !bytes.Equal(h.Sum(nil), o.ContentMD5) {
		return fmt.Errorf("put %s: %w", key, snapshot.ErrBadDigest)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.place(tmp, key, o.IfAbsent); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if d, err := s.root.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("put %s: sync directory: %w", key, err)
		}
	}
	return nil
}

// place moves the written temporary file to key: a rename, or with ifAbsent a hard link, which
// fails when key exists (the exclusive create), then the removal of the temporary name.
func (s *Store) place(tmp, key string, ifAbsent bool) error {
	if !ifAbsent {
		return s.root.Rename(tmp, key)
	}
	if err := s.root.Link(tmp, key); err != nil {
		s.root.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: the object exists", fs.ErrExist)
		}
		return err
	}
	return s.root.Remove(tmp)
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get opens the file under key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	f, err := s.root.Open(key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, notExist(err))
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", key, fs.ErrNotExist)
	}
	return f, nil
}

// notExist maps "a path component is a file" (ENOTDIR) to fs.ErrNotExist, like object stores.
func notExist(err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %v", fs.ErrNotExist, err)
	}
	return err
}

// Head describes the file under key. ETag is empty.
func (s *Store) Head(ctx context.Context, key string) (snapshot.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return snapshot.ObjectInfo{}, fmt.Errorf("head: %w", err)
	}
	st, err := s.root.Stat(key)
	if err != nil {
		return snapshot.ObjectInfo{}, fmt.Errorf("head %s: %w", key, notExist(err))
	}
	if !st.Mode().IsRegular() {
		return snapshot.ObjectInfo{}, fmt.Errorf("head %s: %w", key, fs.ErrNotExist)
	}
	return snapshot.ObjectInfo{Key: key, Size: st.Size()}, nil
}

// List returns the files whose key starts with prefix, sorted; files being written are skipped.
func (s *Store) List(ctx context.Context, prefix string) ([]snapshot.ObjectInfo, error) {
	if err := snapshot.ValidListPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	// Walk only the deepest directory the prefix names in full.
	start := "."
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		start = prefix[:i]
	}
	var out []snapshot.ObjectInfo
	err := fs.WalkDir(s.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return fs.SkipDir
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		if d.IsDir() {
			// Skip subtrees that cannot hold a match.
			if p != "." && p != start && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(p, prefix) {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		out = append(out, snapshot.ObjectInfo{Key: p, Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	slices.SortFunc(out, func(a, b snapshot.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete removes the file under key; a missing file is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	st, err := s.root.Lstat(key)
	if errors.Is(notExist(err), fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if st.IsDir() {
		return fmt.Errorf("delete %s: is a directory", key)
	}
	if err := s.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// SweepTemp removes the temporary files that Puts of a killed process left in the store (kill -9
// skips Put's own clean-up) and returns how many it removed. A file is removed only if
//
//   - it is a regular file (not a directory or a symbolic link) whose name is exactly what Put
//     gives its temp files (".tmp-<name>-" and 26 characters of base32); other files, including
//     ones that merely start with ".tmp-", are left alone, and
//   - it was last modified more than olderThan before now, so that a concurrent run's Put in
//     progress (which keeps writing to its file) is not disturbed. Callers pass at least the
//     longest time a run may last, e.g. the function's timeout.
//
// The walk stays inside the store's root: it goes through the os.Root, never descends into
// symbolic links and never removes their targets. Files that vanish meanwhile are skipped; other
// failures are joined into the error while the sweep goes on, and it stops when ctx ends.
func (s *Store) SweepTemp(ctx context.Context, olderThan time.Duration, now time.Time) (int, error) {
	cutoff := now.Add(-olderThan)
	removed := 0
	var errs []error
	err := fs.WalkDir(s.root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		// WalkDir reports a link as a link (DirEntry types come from lstat), so links to
		// directories are not descended into, and links named like temp files are not regular.
		if !d.Type().IsRegular() || !isTempName(d.Name()) {
			return nil
		}
		info, err := s.root.Lstat(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return nil
		}
		if !info.Mode().IsRegular() || !info.ModTime().Before(cutoff) {
			return nil
		}
		if err := s.root.Remove(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return nil
		}
		removed++
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("sweep temp files: %w", err)
	}
	return removed, nil
}
