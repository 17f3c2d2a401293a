package usage

import "encoding/binary"

// Thrift compact protocol types, as Parquet's metadata (the footer and page headers) uses them.
const (
	thriftTrue   = 1
	thriftFalse  = 2
	thriftI32    = 5
	thriftI64    = 6
	thriftBinary = 8
	thriftList   = 9
	thriftStruct = 12
)

// thriftWriter appends Thrift compact-protocol structs to a byte slice: just what the Parquet
// writer needs (structs, i32, i64, binary, bool, lists of i32, binary and structs).
type thriftWriter struct {
	b    []byte
	last []int16 // the last field ID of each open struct
}

// field writes a field header, as a delta from the previous field when it fits in 4 bits.
func (w *thriftWriter) field(id int16, typ byte) {
	top := &w.last[len(w.last)-1]
	if d := id - *top; d > 0 && d <= 15 {
		w.b = append(w.b, byte(d)<<4|typ)
	} else {
		w.b = append(w.b, typ)
		w.varint(zigzag(int64(id)))
	}
	*top = id
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func (w *thriftWriter) varint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

func (w *thriftWriter) i32(id int16, v int32) {
	w.field(id, thriftI32)
	w.varint(zigzag(int64(v)))
}

func (w *thriftWriter) i64(id int16, v int64) {
	w.field(id, thriftI64)
	w.varint(zigzag(v))
}

func (w *thriftWriter) str(id int16, s string) {
	w.field(id, thriftBinary)
	w.varint(uint64(len(s)))
	w.b = append(w.b, s...)
}

func (w *thriftWriter) boolean(id int16, v bool) {
	if v {
		w.field(id, thriftTrue)
	} else {
		w.field(id, thriftFalse)
	}
}

// begin opens a struct: as field id of the enclosing struct, or (id 0) as the top-level struct
// or a list element.
func (w *thriftWriter) begin(id int16) {
	if id != 0 {
		w.field(id, thriftStruct)
	}
	w.last = append(w.last, 0)
}

// end closes the innermost struct.
func (w *thriftWriter) end() {
	w.b = append(w.b, 0)
	w.last = w.last[:len(w.last)-1]
}

// list writes the header of a list field of n elements of type elem; the elements follow.
func (w *thriftWriter) list(id int16, elem byte, n int) {
	w.field(id, thriftList)
	if n < 15 {
		w.b = append(w.b, byte(n)<<4|elem)
		return
	}
	w.b = append(w.b, 0xf0|elem)
	w.varint(uint64(n))
}

func (w *thriftWriter) i32List(id int16, vs ...int32) {
	w.list(id, thriftI32, len(vs))
	for _, v := range vs {
		w.varint(zigzag(int64(v)))
	}
}

func (w *thriftWriter) strList(id int16, ss ...string) {
	w.list(id, thriftBinary, len(ss))
	for _, s := range ss {
		w.varint(uint64(len(s)))
		w.b = append(w.b, s...)
	}
}
