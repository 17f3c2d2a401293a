package snapshot

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// Content is finished, immutable encoded bytes that can be read any number of times, with their
// size and digests known up front.
type Content interface {
	// Open returns a new reader positioned at the first byte.
	Open() (io.ReadSeekCloser, error)
	// Size is the length in bytes.
	Size() int64
	// SHA256 is the SHA-256 digest.
	SHA256() [sha256.Size]byte
	// MD5 is the MD5 digest (sent as Content-MD5).
	MD5() [md5.Size]byte
}

// Bytes returns b as Content. b must not be changed afterwards.
func Bytes(b []byte) Content {
	return &memContent{b: b, sha: sha256.Sum256(b), md: md5.Sum(b)}
}

type memContent struct {
	b   []byte
	sha [sha256.Size]byte
	md  [md5.Size]byte
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

func (c *memContent) Open() (io.ReadSeekCloser, error) {
	return nopSeekCloser{bytes.NewReader(c.b)}, nil
}
func (c *memContent) Size() int64               { return int64(len(c.b)) }
func (c *memContent) SHA256() [sha256.Size]byte { return c.sha }
func (c *memContent) MD5() [md5.Size]byte       { return c.md }

// Spool collects encoded data in a temporary file, so large outputs are not held in memory, while
// computing its size, SHA-256 and MD5. Write to it, Close it, then use it as Content; Remove
// deletes the file. A Spool is not safe for concurrent writes; after Close, Open may be called
// from any goroutine.
type Spool struct {
	mu     sync.Mutex
	f      *os.File
	path   string
	size   int64
	sha    hash.Hash
	md     hash.Hash
	closed bool
	err    error
	sum    [sha256.Size]byte
	mdSum  [md5.Size]byte
}

var _ Content = (*Spool)(nil)

// NewSpool creates a spool file in dir (os.TempDir when dir is empty).
func NewSpool(dir string) (*Spool, error) {
	f, err := os.CreateTemp(dir, SpoolPattern)
	if err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	return &Spool{f: f, path: f.Name(), sha: sha256.New(), md: md5.New()}, nil
}

// Write appends p to the spool.
func (s *Spool) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errors.New("write spool: already closed")
	}
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.f.Write(p)
	s.size += int64(n)
	s.sha.Write(p[:n])
	s.md.Write(p[:n])
	if err != nil {
		s.err = fmt.Errorf("write spool: %w", err)
		return n, s.err
	}
	return n, nil
}

// Close finishes writing. It reports any earlier write error.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	s.closed = true
	if err := s.f.Close(); err != nil && s.err == nil {
		s.err = fmt.Errorf("close spool: %w", err)
	}
	copy(s.sum[:], s.sha.Sum(nil))
	copy(s.mdSum[:], s.md.Sum(nil))
	return s.err
}

// Open returns a new reader over the spooled bytes; the spool must be closed without error.
func (s *Spool) Open() (io.ReadSeekCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		return nil, errors.New("open spool: not closed yet")
	}
	if s.err != nil {
		return nil, s.err
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	return f, nil
}

// Size is the number of bytes written.
func (s *Spool) Size() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.size }

// SHA256 is the digest of the bytes written; valid after Close.
func (s *Spool) SHA256() [sha256.Size]byte { s.mu.Lock(); defer s.mu.Unlock(); return s.sum }

// MD5 is the MD5 digest of the bytes written; valid after Close.
func (s *Spool) MD5() [md5.Size]byte { s.mu.Lock(); defer s.mu.Unlock(); return s.mdSum }

// Remove closes the spool if needed and deletes its file.
func (s *Spool) Remove() error {
	_ = s.Close()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool: %w", err)
	}
	return nil
}
