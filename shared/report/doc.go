// Package report turns what the snapshot store holds into the pages people open instead of a
// spreadsheet: a daily usage report, a month-to-date page and an index of days, written into the
// bucket beside the data.
//
// # What it reads
//
// Only manifests (snapshot.FindManifest) and the data files they list, streamed with Store.Get:
// the store is never listed to find data. For each app the fastest of its files to read is
// chosen, CSV, then Parquet (usage.ParquetReader), then JSON Lines; its size and SHA-256 are
// checked against the manifest while it streams, so every figure comes from exactly the bytes the
// manifest vouches for. A file replaced by another writer's commit while it is read sends the
// report to the dataset's manifest now in force. Memory stays bounded whatever the size of a day:
// rows are folded into per-app totals as they pass, the TRTC 5-minute curve has a fixed number of
// points per app, and the top rooms of room usage are kept in a heap of at most Options.TopRooms
// entries, so a million-room day costs no more memory than a fifty-room one.
//
// # What it writes
//
//	<prefix>/reports/dt=YYYY-MM-DD/index.html     the day's report       text/html; charset=utf-8
//	<prefix>/reports/dt=YYYY-MM-DD/summary.json   the day's figures      application/json
//	<prefix>/reports/dt=YYYY-MM-DD/detail.json    its curves, top rooms  application/json
//	<prefix>/reports/month=YYYY-MM/index.html     month to date          text/html; charset=utf-8
//	<prefix>/reports/index.html                   every day and month    text/html; charset=utf-8
//
// summary.json holds the day's per-app totals together with a fingerprint of the data files they
// were computed from. Trend charts and month pages reuse a summary while its fingerprint matches
// the current manifest and recompute it from the data otherwise, so a restated day is never shown
// with old figures, and a 30-day trend does not re-read 30 days of room usage on every run.
// detail.json holds, per dataset and with the same fingerprint, what only the day's own page
// shows (the TRTC curves, the top rooms), so that rendering a day again reads only the files of
// the datasets that changed. The summary's head (the members before its figures) says whether the
// day's page was rendered from it and, on a store with entity tags (COS), the tags of the
// manifests it was read from: a run that commits nothing new tells the page is current from that
// head and one HEAD per manifest, without reading a manifest.
//
// # Pages
//
// Pages are rendered with html/template, so every value that comes from data (app IDs, room IDs,
// sub-customer IDs, package names) is escaped. They are self-contained: styles are inline, charts
// are inline SVG built by this package, and there are no scripts, fonts or images to fetch, so a
// page opens from a presigned URL or as a downloaded file. Links to the data files and manifests
// are relative to the page by default (they work on a file sink and on a bucket served as a
// website); Options.Link can replace them, for example with presigned URLs.
//
// # Use
//
// After commits, Refresh renders the pages they affect (the changed days, the 7 days after each,
// whose comparisons use it, the month pages and the index), under a lease of its own,
// <prefix>/reports/_lease/, so that renders by the functions of different datasets run one after
// the other and the last one shows every commit. Publish is Refresh for one changed day.
// BuildDay, BuildMonth and BuildIndex return the models, whose Render methods write the HTML, for
// callers that place pages themselves.
//
// Quality-check warnings come from the manifests' checks (and the checks across datasets), and
// restated figures from their changes: both are shown on the day's page when there are any.
package report
