package query

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscapedLenMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain,csv\n1,2\n", `{"a":"b\"c"}`, "tab\tcr\rnul\x00<&>", "中文,🎥\n"} {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, len(b), escapedLen(s), "%q", s)
	}
}
