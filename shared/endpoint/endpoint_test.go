package endpoint

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, host, scheme string
		loopback, port   bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", "", true, true},
		{"[::1]:8080", "[::1]:8080", "", true, true},
		{"localhost", "localhost", "", true, false},
		{"api.example.test:8443", "api.example.test:8443", "", false, true},
		{"http://api.example.test", "api.example.test", "http", false, false},
		{"https://127.0.0.1:9/", "127.0.0.1:9", "https", true, true},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, Endpoint{Host: tt.host, Scheme: tt.scheme}, e, tt.in)
		assert.Equal(t, tt.loopback, e.Loopback(), tt.in)
		assert.Equal(t, tt.port, e.HasPort(), tt.in)
	}
}

func TestParseRefusesWithoutEchoingSecrets(t *testing.T) {
	for _, in := range []string{"", " 127.0.0.1:1", "http://user:hunter2@127.0.0.1:9000", "user:hunter2@127.0.0.1:9000",
		"https://hunter2@x.example/path", "ftp://x.example", "http://x.example/path", "http://x.example/?k=hunter2",
		"http://x.example/#hunter2", "x.example:0", "x.example:99999", "x.example:", "http://"} {
		_, err := Parse(in)
		require.Error(t, err, in)
		assert.NotContains(t, err.Error(), "hunter2", in)
	}
	_, err := Parse("http://user:hunter2@127.0.0.1:9000")
	assert.ErrorIs(t, err, ErrUserinfo)
}

func TestShown(t *testing.T) {
	assert.Equal(t, `"ftp://host:1"`, Shown("ftp://host:1"))
	for _, v := range []string{"http://u:hunter2@h", "h/?k=hunter2", "h/#hunter2"} {
		assert.NotContains(t, Shown(v), "hunter2")
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true,
		"10.0.0.1": false, "example.test": false, "": false, "::": false} {
		assert.Equal(t, want, IsLoopback(host), host)
	}
}
