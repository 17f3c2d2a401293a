// Package tables generates the table definitions that let query engines read the snapshots:
// Hive external tables (Hive, Spark SQL, DLC, and Presto/Trino through a Hive metastore) and
// DuckDB views, for every dataset and format, from the one description of the data,
// usage.Schema. Tables are partitioned by dt (the China day, DATE) and app (STRING), as the
// keys are, and every column carries its meaning and unit as a comment.
//
// The definitions are printed by `tcusage tables` and written beside the data by Write, under
// <prefix>/<dataset>/_tables/<dialect>/<format>.sql.
package tables
