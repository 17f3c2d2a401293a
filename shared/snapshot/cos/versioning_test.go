package cos_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

// The bucket's versioning status is read as COS answers it, and on a versioned bucket a
// create-if-absent write no longer refuses an existing key: what the lease relies on is gone.
func TestVersioningAndForbidOverwrite(t *testing.T) {
	for _, status := range []string{"", "Suspended", "Enabled"} {
		srv := costest.New(t, costest.Options{Versioning: status})
		st := newStore(t, srv, creds(srv))
		got, err := st.Versioning(t.Context())
		require.NoError(t, err)
		assert.Equal(t, status, got)

		key := uniquePrefix() + "/lease.json"
		put := func() error {
			return st.Put(t.Context(), key, strings.NewReader("x"), snapshot.PutOptions{IfAbsent: true})
		}
		require.NoError(t, put())
		if status == "Enabled" {
			assert.NoError(t, put(), "versioned: the overwrite is not refused")
		} else {
			assert.ErrorIs(t, put(), fs.ErrExist, "%q: the second create-if-absent is refused", status)
		}
	}
}

func TestAccessDeniedIsAPermissionError(t *testing.T) {
	srv := costest.New(t, costest.Options{})
	srv.Inject(costest.Fault{Kind: costest.AccessDenied, Rate: 1, Match: func(r costest.Request) bool {
		return r.Method == "PUT" || r.Query.Has("versioning")
	}})
	st := newStore(t, srv, creds(srv))
	err := st.Put(t.Context(), "a/b.json", strings.NewReader("x"), snapshot.PutOptions{})
	require.ErrorIs(t, err, fs.ErrPermission)
	assert.Contains(t, err.Error(), "AccessDenied")
	_, err = st.Versioning(t.Context())
	require.ErrorIs(t, err, fs.ErrPermission)
	_, err = st.List(t.Context(), "a/")
	require.NoError(t, err, "only the matched requests are denied")
}
