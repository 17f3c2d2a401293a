package usage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// More Thrift compact protocol types, which a reader must be able to skip.
const (
	thriftByte   = 3
	thriftI16    = 4
	thriftDouble = 7
	thriftSet    = 10
	thriftMap    = 11
)

// Limits of what thriftReader accepts: Parquet metadata written by ParquetWriter is far smaller,
// and a damaged or hostile file must not make the reader allocate without bound.
const (
	thriftMaxDepth  = 16
	thriftMaxBinary = 1 << 20
	thriftMaxList   = 1 << 20
)

// errThrift is wrapped by errors about metadata that is not valid Thrift compact protocol.
var errThrift = errors.New("malformed Parquet metadata")

// thriftReader decodes Thrift compact-protocol structs from a byte stream: what the Parquet
// reader needs to read page headers and the footer, and to skip every field it does not use.
type thriftReader struct {
	r     io.ByteReader
	depth int
}

func (t *thriftReader) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(t.r)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errThrift, noEOF(err))
	}
	return v, nil
}

// int reads an i16, i32 or i64 (zigzag varint).
func (t *thriftReader) int() (int64, error) {
	u, err := t.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// binary reads a binary or string field of at most thriftMaxBinary bytes.
func (t *thriftReader) binary() ([]byte, error) {
	n, err := t.uvarint()
	if err != nil {
		return nil, err
	}
	if n > thriftMaxBinary {
		return nil, fmt.Errorf("%w: a %d-byte string", errThrift, n)
	}
	b := make([]byte, n)
	for i := range b {
		if b[i], err = t.r.ReadByte(); err != nil {
			return nil, fmt.Errorf("%w: %w", errThrift, noEOF(err))
		}
	}
	return b, nil
}

// structure reads a struct, calling field for each field's ID and type; field must consume the
// field's value (or skip it).
func (t *thriftReader) structure(field func(id int16, typ byte) error) error {
	if t.depth++; t.depth > thriftMaxDepth {
		return fmt.Errorf("%w: nested too deeply", errThrift)
	}
	defer func() { t.depth-- }()
	var last int16
	for {
		b, err := t.r.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: %w", errThrift, noEOF(err))
		}
		if b == 0 {
			return nil
		}
		typ, delta := b&0x0f, int16(b>>4)
		id := last + delta
		if delta == 0 {
			v, err := t.int()
			if err != nil {
				return err
			}
			id = int16(v)
		}
		last = id
		if err := field(id, typ); err != nil {
			return err
		}
	}
}

// list reads a list header: its element type and length.
func (t *thriftReader) list() (elem byte, n int, err error) {
	b, err := t.r.ReadByte()
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errThrift, noEOF(err))
	}
	elem, size := b&0x0f, uint64(b>>4)
	if size == 15 {
		if size, err = t.uvarint(); err != nil {
			return 0, 0, err
		}
	}
	if size > thriftMaxList {
		return 0, 0, fmt.Errorf("%w: a list of %d elements", errThrift, size)
	}
	return elem, int(size), nil
}

// skip reads and discards a value of type typ.
func (t *thriftReader) skip(typ byte) error {
	var err error
	switch typ {
	case thriftTrue, thriftFalse:
		return nil // the value is in the type
	case thriftByte:
		_, err = t.r.ReadByte()
		if err != nil {
			err = fmt.Errorf("%w: %w", errThrift, noEOF(err))
		}
	case thriftI16, thriftI32, thriftI64:
		_, err = t.int()
	case thriftDouble:
		for range 8 {
			if _, err = t.r.ReadByte(); err != nil {
				return fmt.Errorf("%w: %w", errThrift, noEOF(err))
			}
		}
	case thriftBinary:
		_, err = t.binary()
	case thriftList, thriftSet:
		err = t.skipList()
	case thriftMap:
		err = t.skipMap()
	case thriftStruct:
		err = t.structure(func(_ int16, typ byte) error { return t.skip(typ) })
	default:
		err = fmt.Errorf("%w: unknown type %d", errThrift, typ)
	}
	return err
}

func (t *thriftReader) skipList() error {
	elem, n, err := t.list()
	if err != nil {
		return err
	}
	if t.depth++; t.depth > thriftMaxDepth {
		return fmt.Errorf("%w: nested too deeply", errThrift)
	}
	defer func() { t.depth-- }()
	for range n {
		if elem == thriftTrue || elem == thriftFalse {
			elem = thriftByte // booleans in a list take a byte each
		}
		if err := t.skip(elem); err != nil {
			return err
		}
	}
	return nil
}

func (t *thriftReader) skipMap() error {
	n, err := t.uvarint()
	if err != nil || n == 0 {
		return err
	}
	if n > thriftMaxList {
		return fmt.Errorf("%w: a map of %d entries", errThrift, n)
	}
	kv, err := t.r.ReadByte()
	if err != nil {
		return fmt.Errorf("%w: %w", errThrift, noEOF(err))
	}
	if t.depth++; t.depth > thriftMaxDepth {
		return fmt.Errorf("%w: nested too deeply", errThrift)
	}
	defer func() { t.depth-- }()
	for range n {
		if err := t.skip(kv >> 4); err != nil {
			return err
		}
		if err := t.skip(kv & 0x0f); err != nil {
			return err
		}
	}
	return nil
}

// noEOF turns the end of the input inside a value into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
