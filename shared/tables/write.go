package tables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// Dir is the folder, beside a dataset's versions, that holds its definitions.
const Dir = "_tables"

// Key returns where the definition of a dataset's table in one dialect and format is stored:
// <prefix>/<dataset>/_tables/<dialect>/<format>.sql. It lies under the dataset's folder, which
// the function's run role may already write (deploy/<function>/cam-policy.json), and outside
// every version's folder, which the tables read as data.
func Key(prefix string, d Dialect, f usage.Format, dataset string) (string, error) {
	if !slices.Contains(Dialects, d) {
		return "", fmt.Errorf("%w %q", ErrDialect, clip(string(d)))
	}
	if err := f.Valid(); err != nil {
		return "", err
	}
	key, err := snapshot.DatasetKey(prefix, dataset, Dir+"/"+string(d)+"/"+string(f)+".sql")
	if err != nil {
		return "", err
	}
	return key, snapshot.ValidKey(key)
}

// Locations returns, for a TCUSAGE_SINK URL, where each dialect finds the key prefix: Hive reads
// COS through the cosn:// file system, DuckDB through its S3 API (s3://, with COS's endpoint set
// in DuckDB's S3 settings); a file sink is a local directory (file:// for Hive).
func Locations(sinkURL string) (map[Dialect]string, error) {
	u, err := url.Parse(sinkURL)
	if err != nil {
		return nil, errors.New("tables: the sink URL cannot be parsed")
	}
	switch u.Scheme {
	case "cos":
		base := u.Host + "/" + strings.Trim(u.Path, "/")
		base = strings.TrimSuffix(base, "/")
		return map[Dialect]string{Hive: "cosn://" + base, DuckDB: "s3://" + base}, nil
	case "file":
		dir := u.Host + u.Path
		if u.Opaque != "" {
			dir = u.Opaque
		}
		abs, err := filepath.Abs(filepath.FromSlash(dir))
		if err != nil {
			return nil, fmt.Errorf("tables: %w", err)
		}
		abs = filepath.ToSlash(abs)
		return map[Dialect]string{Hive: "file://" + abs, DuckDB: abs}, nil
	}
	return nil, errors.New("tables: want a cos:// or file:// sink URL")
}

// Write stores the definitions of dataset s's table in every dialect, for each of the formats
// (those the function writes), at Key, reading the data where Locations says for sinkURL. It is
// meant to run after a commit: a definition already stored with the same bytes is not written
// again, so it costs one GET per definition. It returns the keys written.
func Write(ctx context.Context, store snapshot.Store, prefix, sinkURL string, s usage.Schema, formats []usage.Format) ([]string, error) {
	locs, err := Locations(sinkURL)
	if err != nil {
		return nil, err
	}
	var written []string
	for _, d := range Dialects {
		for _, f := range formats {
			key, changed, err := writeOne(ctx, store, prefix, Definition{Schema: s, Dialect: d, Format: f, Base: locs[d]})
			if err != nil {
				return written, err
			}
			if changed {
				written = append(written, key)
			}
		}
	}
	return written, nil
}

// writeOne stores one definition unless the same bytes are already there.
func writeOne(ctx context.Context, store snapshot.Store, prefix string, def Definition) (string, bool, error) {
	key, err := Key(prefix, def.Dialect, def.Format, def.Schema.Dataset)
	if err != nil {
		return "", false, err
	}
	sql, err := def.SQL()
	if err != nil {
		return "", false, err
	}
	old, err := snapshot.ReadObject(ctx, store, key)
	switch {
	case err == nil && bytes.Equal(old, []byte(sql)):
		return key, false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("tables: read %s: %w", key, err)
	}
	body := snapshot.Bytes([]byte(sql))
	r, err := body.Open()
	if err != nil {
		return "", false, err
	}
	defer r.Close()
	sum := body.MD5()
	err = store.Put(ctx, key, r, snapshot.PutOptions{Size: body.Size(), ContentType: "application/sql; charset=utf-8", ContentMD5: sum[:]})
	if err != nil {
		return "", false, fmt.Errorf("tables: write %s: %w", key, err)
	}
	return key, true, nil
}
