package remote

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCode(t *testing.T) {
	for in, want := range map[string]string{
		"FailedOperation.SdkAppIdNotExist": "FailedOperation.SdkAppIdNotExist",
		"ClientError.NetworkError":         "ClientError.NetworkError",
		"Bad Code\n<script>":               "Bad_Code__script_",
		"中文":                               "______",
		"":                                 "",
	} {
		assert.Equal(t, want, Code(in), "%q", in)
	}
	long := Code(strings.Repeat("A", 200_000))
	assert.Equal(t, strings.Repeat("A", MaxCode)+"…", long, "a 200 kB code is cut")
}

func TestID(t *testing.T) {
	assert.Equal(t, "6d2c1d1a-3b4e-4c5d-9e8f-0a1b2c3d4e5f", ID("6d2c1d1a-3b4e-4c5d-9e8f-0a1b2c3d4e5f"))
	assert.Equal(t, "rid_a.b_c", ID("rid a.b/c"))
	assert.Len(t, ID(strings.Repeat("x", 1000)), MaxID+len("…"))
}

func TestMessage(t *testing.T) {
	assert.Equal(t, "a b c", Message("a\n\tb \x00 c"))
	assert.Equal(t, "bad \uFFFD byte", Message("bad \xff byte"))
	long := Message(strings.Repeat("é", 300))
	assert.LessOrEqual(t, len(long), MaxMessage+len("…"))
	assert.True(t, strings.HasSuffix(long, "…"))
	assert.True(t, utf8ValidString(long))
}

func utf8ValidString(s string) bool { return strings.ToValidUTF8(s, "?") == s }
