package costest

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCOSSignatureKnownAnswer(t *testing.T) {
	// The published test vector (cos.md §4).
	const keyTime = "1480932292;1481012292"
	headers := []pair{
		{"host", cosEncode("testbucket-125000000.cos.ap-guangzhou.myqcloud.com")},
		{"x-cos-stroage-class", cosEncode("nearline")},
		{"x-cos-content-sha1", cosEncode("db8ac1c259eb89d4a131b253bacfca5f319d54f2")},
	}
	assert.Equal(t, "95d110a8ead64cac52083100db75b7e3f369e72f", hmacSHA1Hex("AKIDZfbOA78asKUYBcXFrJD0a1ICvR98JM", keyTime))
	assert.Equal(t, "host=testbucket-125000000.cos.ap-guangzhou.myqcloud.com&x-cos-content-sha1=db8ac1c259eb89d4a131b253bacfca5f319d54f2&x-cos-stroage-class=nearline",
		canonical(append([]pair(nil), headers...)))
	got := cosSignature("AKIDZfbOA78asKUYBcXFrJD0a1ICvR98JM", keyTime, keyTime, "PUT", "/testfile2", nil, headers)
	assert.Equal(t, "ce4ac0ecbcdb30538b3fee0a97cc6389694ce53a", got)
}

func TestCOSEncode(t *testing.T) {
	for in, want := range map[string]string{
		"abcXYZ019-_.~": "abcXYZ019-_.~",
		"a b":           "a%20b",
		"a/b;c:d":       "a%2Fb%3Bc%3Ad",
		"!*'()+":        "%21%2A%27%28%29%2B",
		"é":             "%C3%A9",
	} {
		assert.Equal(t, want, cosEncode(in), in)
	}
}
