// Package usage turns the answers of the four usage APIs into normalized, versioned rows and
// encodes them as JSON Lines, CSV and Parquet.
//
// Every dataset has a Schema: named, typed columns with units and meanings, and a version that is
// part of every object key (v1; v2 for roomusage, whose earlier v1 stays readable). Rows carry only the data and the identity of what was measured
// (date, app, room, interval): never per-call values such as request IDs or fetch times, which go
// in the manifest. Rows come in a stable order, so that a rerun over unchanged data produces
// byte-identical files and the store can skip rewriting them.
//
// Encoding is streaming: a RowWriter writes each row to JSON Lines, CSV and Parquet at once, so
// that a room-usage answer of a million rooms passes through without being held twice (Parquet
// holds one row group of ParquetRowGroupRows rows at most).
package usage
