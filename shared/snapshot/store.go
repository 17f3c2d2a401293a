package snapshot

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Store is an object store keyed by slash-separated names: the seam between the snapshot logic and
// a backend (package file for a local directory, package cos for Tencent COS).
//
// Implementations must be safe for concurrent use. Keys are relative to the store's root (for COS
// the bucket); callers pass keys accepted by ValidKey.
type Store interface {
	// Put stores body under key, replacing any object there (unless o.IfAbsent). The body is read
	// from its start;
	// a store may seek it back to retry. Every Put sends or checks a Content-MD5 digest: when
	// o.ContentMD5 is nil the store computes it from body.
	Put(ctx context.Context, key string, body io.ReadSeeker, o PutOptions) error
	// Get opens the object under key. A missing key is an error wrapping fs.ErrNotExist.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Head describes the object under key. A missing key is an error wrapping fs.ErrNotExist.
	Head(ctx context.Context, key string) (ObjectInfo, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes the object under key. A missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// PutOptions describes a body given to Store.Put.
type PutOptions struct {
	// Size is the body length in bytes; zero lets the store find it by seeking.
	Size int64
	// ContentType is the media type recorded with the object (ignored by the file store).
	ContentType string
	// ContentMD5 is the raw 16-byte MD5 digest of the body; nil lets the store compute it.
	ContentMD5 []byte
	// IfAbsent creates the object only if no object is under key: the check and the write are
	// one atomic step, so of two such Puts at once exactly one succeeds. The other gets an error
	// wrapping fs.ErrExist. (COS: x-cos-forbid-overwrite, which a bucket with versioning enabled
	// ignores; file: an exclusive create.)
	IfAbsent bool
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key  string
	Size int64
	// ETag is the backend's entity tag, without quotes; empty when the backend has none.
	ETag string
}

// ErrBadDigest is wrapped by Put errors when the body does not match PutOptions.ContentMD5.
var ErrBadDigest = errors.New("content-md5 does not match the body")

// BodyInfo returns the size and MD5 digest of a Put body following PutOptions: given values are
// used as they are, missing ones computed by reading body. It leaves body at its start.
func BodyInfo(body io.ReadSeeker, o PutOptions) (size int64, sum []byte, err error) {
	size, sum = o.Size, o.ContentMD5
	if sum != nil && len(sum) != md5.Size {
		return 0, nil, fmt.Errorf("content-md5 is %d bytes, want %d", len(sum), md5.Size)
	}
	if size == 0 || sum == nil {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return 0, nil, fmt.Errorf("seek body: %w", err)
		}
		h := md5.New()
		n, err := io.Copy(h, body)
		if err != nil {
			return 0, nil, fmt.Errorf("read body: %w", err)
		}
		if size == 0 {
			size = n
		}
		if sum == nil {
			sum = h.Sum(nil)
		}
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return 0, nil, fmt.Errorf("seek body: %w", err)
	}
	return size, sum, nil
}

// MaxKeyLen is the longest key accepted, in bytes (COS allows 850).
const MaxKeyLen = 850

// ErrInvalidKey is wrapped by errors about keys or key parts that are not accepted.
var ErrInvalidKey = errors.New("invalid key")

// ValidKey reports whether key is a safe object key: non-empty, at most MaxKeyLen bytes, valid
// UTF-8 without control characters or backslashes, no leading or trailing slash, and no empty,
// "." or ".." segment. Such a key maps to a path inside any root directory.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w %.40q...: longer than %d bytes", ErrInvalidKey, key, MaxKeyLen)
	}
	if err := validText(key); err != nil {
		return fmt.Errorf("%w %q: %v", ErrInvalidKey, key, err)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w %q: empty path segment", ErrInvalidKey, key)
		case ".", "..":
			return fmt.Errorf("%w %q: %q path segment", ErrInvalidKey, key, seg)
		}
	}
	return nil
}

// ValidListPrefix reports whether prefix is acceptable to Store.List: empty, or a key prefix whose
// complete segments obey ValidKey and which may end in a slash.
func ValidListPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := ValidKey(strings.TrimSuffix(prefix, "/")); err != nil {
		return fmt.Errorf("list prefix: %w", err)
	}
	return nil
}

func validText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
		if r == '\\' {
			return errors.New("backslash")
		}
	}
	return nil
}

// ReadObject returns the whole content of the object at key (missing: an error wrapping
// fs.ErrNotExist).
func ReadObject(ctx context.Context, store Store, key string) ([]byte, error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}
