package usage

// footer encodes the file's metadata (FileMetaData): the schema, the row groups and their column
// chunks, key-value metadata naming the dataset and its version, and created_by.
func (p *ParquetWriter) footer() []byte {
	w := &thriftWriter{}
	w.begin(0)
	w.i32(1, 1) // version
	w.list(2, thriftStruct, len(p.cols)+1)
	w.begin(0) // the root
	w.str(4, p.schema.Dataset)
	w.i32(5, int32(len(p.cols)))
	w.end()
	for _, c := range p.cols {
		c.schemaElement(w)
	}
	w.i64(3, p.rows)
	w.list(4, thriftStruct, len(p.groups))
	for _, g := range p.groups {
		p.rowGroup(w, g)
	}
	kv := [][2]string{{"tcusage.dataset", p.schema.Dataset}, {"tcusage.version", p.schema.Version}}
	w.list(5, thriftStruct, len(kv))
	for _, e := range kv {
		w.begin(0)
		w.str(1, e[0])
		w.str(2, e[1])
		w.end()
	}
	w.str(6, ParquetCreatedBy)
	w.end()
	return w.b
}

// schemaElement describes an optional leaf column, with its logical type and, for older
// readers, the equivalent converted type.
func (c *parquetColumn) schemaElement(w *thriftWriter) {
	w.begin(0)
	w.i32(1, c.phys)
	w.i32(3, repOptional)
	w.str(4, c.name)
	switch c.typ {
	case TypeString:
		w.i32(6, convUTF8)
		w.begin(10)
		w.begin(1) // STRING
		w.end()
		w.end()
	case TypeDate:
		w.i32(6, convDate)
		w.begin(10)
		w.begin(6) // DATE
		w.end()
		w.end()
	case TypeTimestamp:
		w.i32(6, convTimestampMicros)
		w.begin(10)
		w.begin(8) // TIMESTAMP
		w.boolean(1, true)
		w.begin(2) // unit
		w.begin(2) // MICROS
		w.end()
		w.end()
		w.end()
		w.end()
	}
	w.end()
}

// rowGroup encodes a RowGroup with the metadata of each column chunk: one or more data pages,
// PLAIN values, RLE definition levels, Snappy, and the chunk's null count.
func (p *ParquetWriter) rowGroup(w *thriftWriter, g parquetRowGroup) {
	var raw, compressed int64
	w.begin(0)
	w.list(1, thriftStruct, len(g.chunks))
	for i, ch := range g.chunks {
		c := p.cols[i]
		w.begin(0)
		w.i64(2, ch.offset) // file_offset
		w.begin(3)          // meta_data
		w.i32(1, c.phys)
		w.i32List(2, encPlain, encRLE)
		w.strList(3, c.name)
		w.i32(4, codecSnappy)
		w.i64(5, g.rows) // num_values, nulls included
		w.i64(6, ch.raw)
		w.i64(7, ch.compressed)
		w.i64(9, ch.offset) // data_page_offset
		w.begin(12)         // statistics
		w.i64(3, ch.nulls)
		w.end()
		w.end()
		w.end()
		raw += ch.raw
		compressed += ch.compressed
	}
	w.i64(2, raw)
	w.i64(3, g.rows)
	w.i64(5, g.offset)
	w.i64(6, compressed)
	w.end()
}
