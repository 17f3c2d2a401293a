package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// ErrFileMismatch is wrapped by the read error of a listed file whose bytes differ from its
// manifest entry (size or SHA-256): changed, truncated or replaced since it was delivered.
var ErrFileMismatch = errors.New("stored file does not match its manifest")

// OpenVerified opens a file a manifest lists, to be read once from start to end: the bytes are
// hashed as they are read, and instead of io.EOF the last Read returns an error wrapping
// ErrFileMismatch when their size or SHA-256 is not the entry's. A reader that stops early has
// checked nothing. A missing file is an error wrapping fs.ErrNotExist.
func OpenVerified(ctx context.Context, store Store, e FileEntry) (io.ReadCloser, error) {
	rc, err := store.Get(ctx, e.Key)
	if err != nil {
		return nil, err
	}
	return &verifiedReader{rc: rc, entry: e, h: sha256.New()}, nil
}

type verifiedReader struct {
	rc    io.ReadCloser
	entry FileEntry
	h     hash.Hash
	n     int64
	err   error // sticky: the result of the check once made
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	switch {
	case v.n > v.entry.Bytes:
		// Longer than listed: no need to read on.
		v.err = fmt.Errorf("%s: %w: more than the %d bytes the manifest lists", v.entry.Key, ErrFileMismatch, v.entry.Bytes)
		return n, v.err
	case errors.Is(err, io.EOF):
		v.err = io.EOF
		if sum := hex.EncodeToString(v.h.Sum(nil)); v.n != v.entry.Bytes || sum != v.entry.SHA256 {
			v.err = v.mismatch()
		}
		return n, v.err
	case err != nil:
		return n, fmt.Errorf("read %s: %w", v.entry.Key, err)
	}
	return n, nil
}

func (v *verifiedReader) mismatch() error {
	if v.n != v.entry.Bytes {
		return fmt.Errorf("%s: %w: %d bytes, manifest says %d", v.entry.Key, ErrFileMismatch, v.n, v.entry.Bytes)
	}
	return fmt.Errorf("%s: %w: sha256 %.12s…, manifest says %.12s…", v.entry.Key, ErrFileMismatch, hex.EncodeToString(v.h.Sum(nil)), v.entry.SHA256)
}

func (v *verifiedReader) Close() error { return v.rc.Close() }
