package snapshot_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// A listed file read through OpenVerified ends in io.EOF when it is the one its manifest lists,
// and in ErrFileMismatch when it was changed, cut, grown or replaced.
func TestOpenVerifiedChecksWhatIsRead(t *testing.T) {
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	const body = "date,sdk_app_id\n2024-05-09,1400000001\n"
	sum := sha256.Sum256([]byte(body))
	entry := snapshot.FileEntry{Key: "d/v1/dt=2024-05-09/app=1/part-00000.csv", Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
	for _, c := range []struct {
		name, stored string
		ok           bool
	}{
		{"as listed", body, true},
		{"a figure changed", strings.Replace(body, "1400000001", "1400000002", 1), false},
		{"cut", body[:len(body)-3], false},
		{"grown", body + "2024-05-09,1400000003\n", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.NoError(t, st.Put(t.Context(), entry.Key, strings.NewReader(c.stored), snapshot.PutOptions{}))
			rc, err := snapshot.OpenVerified(t.Context(), st, entry)
			require.NoError(t, err)
			defer rc.Close()
			b, err := io.ReadAll(iotest.OneByteReader(rc))
			if c.ok {
				assert.NoError(t, err)
				assert.Equal(t, body, string(b))
				// iotest.TestReader reads it again in every way a reader may be read.
				rc2, err := snapshot.OpenVerified(t.Context(), st, entry)
				require.NoError(t, err)
				defer rc2.Close()
				assert.NoError(t, iotest.TestReader(rc2, []byte(body)))
				return
			}
			assert.ErrorIs(t, err, snapshot.ErrFileMismatch)
			assert.Contains(t, err.Error(), entry.Key)
		})
	}
	_, err = snapshot.OpenVerified(t.Context(), st, snapshot.FileEntry{Key: "d/v1/dt=2024-05-09/app=2/part-00000.csv"})
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
