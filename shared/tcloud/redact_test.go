package tcloud

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEndpointErrorsHideUserinfo(t *testing.T) {
	for _, v := range []string{"http://user:hunter2@127.0.0.1:9000", "user:hunter2@127.0.0.1:9000", "https://hunter2@x.example/path"} {
		_, err := ConfigFromEnv(func(k string) string {
			if k == EnvAPIEndpoint {
				return v
			}
			return ""
		})
		require.Error(t, err, v)
		assert.NotContains(t, err.Error(), "hunter2", v)
		assert.Contains(t, err.Error(), EnvAPIEndpoint)
	}
}
