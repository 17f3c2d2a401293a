// Package snapshot delivers daily usage partitions to an object store: the store seam, the key
// layout, the manifest and the commit protocol that keeps readers from ever seeing a manifest
// that points at missing or different bytes.
//
// # Layout
//
// Keys are built only from validated parts (dataset [a-z0-9_]+, app IDs [A-Za-z0-9_-]{1,64},
// dates YYYY-MM-DD) and depend on the data's day and app, never on the time of writing:
//
//	<prefix>/<dataset>/<version>/dt=YYYY-MM-DD/app=<id>/part-00000.jsonl     application/x-ndjson
//	<prefix>/<dataset>/<version>/dt=YYYY-MM-DD/app=<id>/part-00000.csv       text/csv; charset=utf-8
//	<prefix>/<dataset>/<version>/dt=YYYY-MM-DD/app=<id>/part-00000.parquet   application/vnd.apache.parquet
//	<prefix>/<dataset>/<version>/dt=YYYY-MM-DD/_manifest.json                the partition's manifest
//
// Beside the versions, the dataset's folder holds its lease (_lease/, see AcquireLease), its
// change log (_changes/<yyyymmdd>-<seq>.json, see Change) and the pointer to its newest complete
// day (_latest.json, see Latest).
//
// The dt=/app= segments are Hive-style, so query engines can prune by day and app. The version is
// the dataset's own (Version: its usage.Schema's, v1 for a dataset without one) and changes only
// with an incompatible change of the row schema or layout. Commits write the current version;
// partitions of earlier versions (Versions) stay where they are, and readers still find them:
// ListPartitions and VerifyAt cover every version, FindManifest returns a day's newest.
//
// # Manifest
//
// The manifest (JSON, fields in a fixed order, schema_version 1) is the completion marker and the
// list of what to read: dataset and version, date, source {service, action, api_version,
// details}, the time window in the configured zone and in UTC, generated_at (from the caller's
// clock), status ("complete", or "partial" with apps_pending while a day is filled app by app),
// apps, and files [{key, app, format, rows, measures, bytes, sha256, content_type, unchanged}],
// plus request IDs and optional totals; then quality (the worst of checks: ok, warn or fail),
// checks (per app, made while the data was written), and changes (the day's restatements, see
// Change). Readers should read exactly the files the manifest lists and may check their sha256. A
// partition without a manifest is incomplete and must be ignored.
//
// # Commit protocol
//
// Commit replaces one partition (or, with Merge, the apps it covers) idempotently. One writer per
// dataset at a time, which the dataset's lease ensures (see AcquireLease); a commit checks the
// lease (CommitRequest.Guard) before each step readers can see. Let M0 be the manifest in place,
// if any:
//
//  1. Plan. Read M0 and list the partition. A new file is unchanged when M0 lists its key with the
//     same sha256 and size and the listing shows an object of that size there; it is not
//     rewritten. With Merge, files of apps outside the request are carried over from M0 after the
//     same check (an app whose files are gone becomes pending). Stale objects are data
//     objects (app=<id>/...) in the partition that the new manifest will not list; with Merge only
//     those of the apps being replaced. Other objects in the partition are left alone.
//  2. Invalidate. If any object M0 lists is about to be written or deleted, M0 is replaced by an
//     interim manifest: M0 without those files, their apps moved to apps_pending, status
//     "partial" (an undecodable M0 is deleted instead). If nothing M0 lists changes, M0 stays.
//  3. Write the changed data files, each PUT carrying Content-MD5.
//  4. Delete the stale objects.
//  5. If files M0 listed were replaced or removed (a restatement), create the change log entry
//     (<prefix>/<dataset>/_changes/<yyyymmdd>-<seq>.json, only if absent; see Change).
//  6. Write the new manifest, last (a single atomic replace).
//
// Crash or failure at any point leaves one of: M0 untouched (before step 2 completes, nothing
// it lists has changed); the interim manifest, which lists only objects steps 3-4 never touch;
// or the new manifest, written after everything it lists. So a manifest never points at missing
// or different bytes. Objects written or left behind by an interrupted run are not listed and
// are removed or overwritten by the next run, which completes the partition; the interim manifest
// keeps the entries it dropped (replacing), so that the completing run records the same
// restatement, and finds the interrupted run's change log entry in place. A delivery whose files
// are all byte-identical, with the same apps, checks and provenance but for fetch times and
// request IDs, writes nothing at all: the manifest stays byte-identical (Result.Kept).
//
// # Stores
//
// Store is deliberately small (Put, Get, Head, List, Delete) so every backend can pass one
// conformance suite (package snapshottest): package file (a local directory, atomic renames) and
// package cos (Tencent COS through the official SDK). Package sink opens one from a TCUSAGE_SINK
// URL. Package costest is a COS-compatible server for tests.
//
// Encoded data is spooled to temporary files (Spool) so large outputs are not held in memory;
// size, SHA-256 and MD5 are computed while writing.
package snapshot
