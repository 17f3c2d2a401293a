package cos

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
)

func TestEndpointMustBeLoopbackOrExplicitlyPlain(t *testing.T) {
	base := Config{Bucket: "usage-1250000000", Region: "ap-guangzhou", Credentials: credential.Credentials{SecretID: "AKIDx", SecretKey: "k"}}
	for _, ep := range []string{"127.0.0.1:9000", "localhost:9000", "[::1]:9000", "http://10.0.0.5:9000", "http://gateway.internal:80"} {
		cfg := base
		cfg.Endpoint = ep
		_, err := New(cfg)
		assert.NoError(t, err, ep)
	}
	for _, ep := range []string{"10.0.0.5:9000", "gateway.internal:80", "http://10.0.0.5", "https://10.0.0.5:443", "http://u:p@10.0.0.5:80", "127.0.0.1"} {
		cfg := base
		cfg.Endpoint = ep
		_, err := New(cfg)
		require.Error(t, err, ep)
		assert.NotContains(t, err.Error(), "u:p@", "no credentials echoed")
	}
}
