package emulator

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The official worked example of the "Signature v3" documentation (CVM DescribeInstances).
const (
	docSecretID  = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
	docSecretKey = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
	docPayload   = `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
)

func docHeader(name string) string {
	return map[string]string{
		"content-type": "application/json; charset=utf-8",
		"host":         "cvm.tencentcloudapi.com",
		"x-tc-action":  "DescribeInstances",
	}[name]
}

func TestSignatureKnownAnswer(t *testing.T) {
	payloadHash := sha256Hex([]byte(docPayload))
	assert.Equal(t, "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", payloadHash)

	canon := canonicalRequest("POST", []string{"content-type", "host"}, docHeader, payloadHash)
	assert.Equal(t, "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n"+
		"35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", canon)
	assert.Equal(t, "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", sha256Hex([]byte(canon)))

	sts := stringToSign("1551113065", "2019-02-25/cvm/tc3_request", canon)
	assert.Equal(t, "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", sts)

	secretDate := hmacSHA256([]byte("TC3"+docSecretKey), "2019-02-25")
	assert.Equal(t, "d1308c81fe71cfd4e06437bbc067b2b8a3d2d8c0e375d547f15c41d5214b395a", hex.EncodeToString(secretDate))
	secretService := hmacSHA256(secretDate, "cvm")
	assert.Equal(t, "3c7cb7c7795393edc14fd2e0e6434a518564b4504b88e94f5d11bf59ba3e7050", hex.EncodeToString(secretService))
	assert.Equal(t, "ac658d5dde49e9bfdd14e04e062f66b05d9f637d44b8a8d845327d4a77f666b1", hex.EncodeToString(signingKey(docSecretKey, "2019-02-25", "cvm")))

	sig := signature(docSecretKey, "2019-02-25", "cvm", sts)
	assert.Equal(t, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", sig)

	// The documented Authorization header parses back into the same parts.
	a, err := parseAuthorization("TC3-HMAC-SHA256 Credential=" + docSecretID + "/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + sig)
	require.NoError(t, err)
	assert.Equal(t, authHeader{SecretID: docSecretID, Date: "2019-02-25", Service: "cvm", SignedHeaders: []string{"content-type", "host"}, Signature: sig}, a)
	assert.Equal(t, "2019-02-25/cvm/tc3_request", a.Scope())
}

// TestSignatureKnownAnswerSignedAction checks the newer documentation revision that also signs
// x-tc-action (its keys are masked, so the published SecretSigning is used for the last step).
func TestSignatureKnownAnswerSignedAction(t *testing.T) {
	canon := canonicalRequest("POST", []string{"content-type", "host", "x-tc-action"}, docHeader, sha256Hex([]byte(docPayload)))
	assert.Contains(t, canon, "\nx-tc-action:describeinstances\n")
	assert.Equal(t, "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84", sha256Hex([]byte(canon)))
	secretSigning, err := hex.DecodeString("b596b923aad85185e2d1f6659d2a062e0a86731226e021e61bfe06f7ed05f5af")
	require.NoError(t, err)
	sts := stringToSign("1551113065", "2019-02-25/cvm/tc3_request", canon)
	assert.Equal(t, "10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f", hex.EncodeToString(hmacSHA256(secretSigning, sts)))
}

func TestParseAuthorizationRejects(t *testing.T) {
	sig := "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
	cases := map[string]string{
		"empty":             "",
		"other algorithm":   "HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + sig,
		"short credential":  "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm, SignedHeaders=content-type;host, Signature=" + sig,
		"bad date":          "TC3-HMAC-SHA256 Credential=a/20190225/cvm/tc3_request, SignedHeaders=content-type;host, Signature=" + sig,
		"wrong terminator":  "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc2_request, SignedHeaders=content-type;host, Signature=" + sig,
		"no host signed":    "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type, Signature=" + sig,
		"unsorted headers":  "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=host;content-type, Signature=" + sig,
		"upper-case header": "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=Content-Type;host, Signature=" + sig,
		"short signature":   "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=abc",
		"missing part":      "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, Signature=" + sig,
		"repeated part":     "TC3-HMAC-SHA256 Credential=a/2019-02-25/cvm/tc3_request, Credential=a/2019-02-25/cvm/tc3_request, Signature=" + sig,
		"no equals":         "TC3-HMAC-SHA256 Credential, SignedHeaders=content-type;host, Signature=" + sig,
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseAuthorization(v)
			assert.Error(t, err)
		})
	}
}
