package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile creates path (and its parent) with content.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
}

func tccliJSON(id, key, token string) string {
	return fmt.Sprintf(`{"secretId":%q,"secretKey":%q,"token":%q,"region":"ap-guangzhou"}`, id, key, token)
}

func TestLoadOrder(t *testing.T) {
	scf := map[string]string{EnvSCFSecretID: "AKIDscf0000000000001", EnvSCFSecretKey: "scfkey", EnvSCFSessionToken: "scftoken"}
	plain := map[string]string{EnvSecretID: "AKIDenv0000000000002", EnvSecretKey: "envkey", EnvSessionToken: "envtoken"}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name       string
		env        map[string]string
		profile    bool // write <home>/.tencentcloud/credentials
		tccli      string
		want       Credentials
		wantSource string
	}{
		{"scf wins over everything", merge(scf, plain), true, "default",
			Credentials{SecretID: "AKIDscf0000000000001", SecretKey: "scfkey", Token: "scftoken"}, SourceSCFRole},
		{"scf without token", map[string]string{EnvSCFSecretID: "AKIDscf0000000000001", EnvSCFSecretKey: "scfkey"}, false, "",
			Credentials{SecretID: "AKIDscf0000000000001", SecretKey: "scfkey"}, SourceSCFRole},
		{"env pair over files", plain, true, "default",
			Credentials{SecretID: "AKIDenv0000000000002", SecretKey: "envkey", Token: "envtoken"}, SourceEnv},
		{"profile file over tccli", nil, true, "default",
			Credentials{SecretID: "AKIDfromprofilefile00001234", SecretKey: "profileSecretKeyValue"}, SourceProfile},
		{"tccli default profile", nil, false, "default",
			Credentials{SecretID: "AKIDtccli00000000003", SecretKey: "tcclikey", Token: "tcclitoken"}, SourceTccli},
		{"tccli named profile", map[string]string{EnvTccliProfile: "work"}, false, "work",
			Credentials{SecretID: "AKIDtccli00000000003", SecretKey: "tcclikey", Token: "tcclitoken"}, SourceTccli},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			if tt.profile {
				data, err := os.ReadFile("testdata/credentials.ini")
				require.NoError(t, err)
				writeFile(t, filepath.Join(home, ".tencentcloud", "credentials"), string(data))
			}
			if tt.tccli != "" {
				writeFile(t, filepath.Join(home, ".tccli", tt.tccli+".credential"), tccliJSON("AKIDtccli00000000003", "tcclikey", "tcclitoken"))
			}
			got, err := Load(mapEnv(tt.env), home)
			require.NoError(t, err)
			assert.Equal(t, tt.want.SecretID, got.SecretID)
			assert.Equal(t, tt.want.SecretKey, got.SecretKey)
			assert.Equal(t, tt.want.Token, got.Token)
			assert.True(t, strings.HasPrefix(got.Source, tt.wantSource), "source %q", got.Source)
		})
	}
}

func TestLoadFileVariable(t *testing.T) {
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".tccli", "default.credential"), tccliJSON("AKIDtccli00000000003", "k", ""))
	got, err := Load(mapEnv(map[string]string{EnvCredentialsFile: "testdata/credentials.ini"}), home)
	require.NoError(t, err)
	assert.Equal(t, "AKIDfromprofilefile00001234", got.SecretID, "the [default] section, not [other]")
	assert.Equal(t, SourceProfile+":testdata/credentials.ini", got.Source)

	_, err = Load(mapEnv(map[string]string{EnvCredentialsFile: filepath.Join(home, "missing")}), home)
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvCredentialsFile)
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		files map[string]string // relative to home
		want  []string          // substrings of the error
	}{
		{"nothing anywhere", nil, nil, []string{EnvSecretID, EnvSecretKey, EnvSCFSecretID, "no Tencent Cloud credentials"}},
		{"scf id without key", map[string]string{EnvSCFSecretID: "AKIDx"}, nil, []string{EnvSCFSecretKey + " is not"}},
		{"scf key without id", map[string]string{EnvSCFSecretKey: "secret-value"}, nil, []string{EnvSCFSecretID + " is not"}},
		{"scf token alone", map[string]string{EnvSCFSessionToken: "tok-value"}, nil, []string{EnvSCFSecretID, EnvSCFSecretKey}},
		{"env id without key", map[string]string{EnvSecretID: "AKIDx"}, nil, []string{EnvSecretKey + " is not"}},
		{"env key without id", map[string]string{EnvSecretKey: "secret-value"}, nil, []string{EnvSecretID + " is not"}},
		{"half pair even when the other pair is complete",
			map[string]string{EnvSCFSecretID: "AKIDa", EnvSCFSecretKey: "secret-value", EnvSecretID: "AKIDb"}, nil, []string{EnvSecretKey + " is not"}},
		{"trailing newline in key", map[string]string{EnvSecretID: "AKIDx", EnvSecretKey: "secret-value\n"}, nil, []string{EnvSecretKey, "whitespace"}},
		{"leading space in id", map[string]string{EnvSCFSecretID: " AKIDx", EnvSCFSecretKey: "secret-value"}, nil, []string{EnvSCFSecretID, "whitespace"}},
		{"space in token", map[string]string{EnvSecretID: "AKIDx", EnvSecretKey: "k", EnvSessionToken: "tok-value "}, nil, []string{EnvSessionToken, "whitespace"}},
		{"profile without key", nil, map[string]string{".tencentcloud/credentials": "[default]\nsecret_id = AKIDx\n"}, []string{"secret_key missing"}},
		{"profile without default section", nil, map[string]string{".tencentcloud/credentials": "[other]\nsecret_id = AKIDx\nsecret_key = secret-value\n"}, []string{"secret_id and [default] secret_key missing"}},
		{"profile malformed line", nil, map[string]string{".tencentcloud/credentials": "[default]\nsecret-value\n"}, []string{"line 2"}},
		{"profile space inside key", nil, map[string]string{".tencentcloud/credentials": "[default]\nsecret_id = AKIDx\nsecret_key = secret value\n"}, []string{"secret_key contains whitespace"}},
		{"tccli invalid json", nil, map[string]string{".tccli/default.credential": `{"secretId":"AKIDx","secretKey":"secret-value"`}, []string{"not valid JSON"}},
		{"tccli missing key", nil, map[string]string{".tccli/default.credential": `{"secretId":"AKIDx"}`}, []string{"secretKey missing"}},
		{"tccli whitespace token", nil, map[string]string{".tccli/default.credential": tccliJSON("AKIDx", "secret-value", "tok-value\t")}, []string{"token contains whitespace"}},
		{"tccli profile traversal", map[string]string{EnvTccliProfile: "../etc"}, nil, []string{EnvTccliProfile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			for rel, content := range tt.files {
				writeFile(t, filepath.Join(home, rel), content)
			}
			_, err := Load(mapEnv(tt.env), home)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, secret := range []string{"secret-value", "tok-value"} {
				assert.NotContains(t, err.Error(), secret, "errors never quote secret values")
			}
		})
	}
	_, err := Load(nil, "")
	assert.True(t, errors.Is(err, ErrNoCredentials))
}

func TestCredentialsRedaction(t *testing.T) {
	c := Credentials{SecretID: "AKIDabcdefghijklmnop1234", SecretKey: "verySecretKeyMaterial", Token: "sessionTokenMaterial", Source: SourceEnv}
	type holder struct {
		Creds Credentials
		Ptr   *Credentials
	}
	h := holder{Creds: c, Ptr: &c}

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("loaded", "creds", c, "ptr", &c)
	js, err := json.Marshal(h)
	require.NoError(t, err)

	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%s": fmt.Sprintf("%s", c), "%d": fmt.Sprintf("%d", c), "%x": fmt.Sprintf("%x", c), "%q": fmt.Sprintf("%q", c),
		"pointer %v": fmt.Sprintf("%v", &c), "holder %+v": fmt.Sprintf("%+v", h), "holder %#v": fmt.Sprintf("%#v", h),
		"error": fmt.Errorf("using %v: %w", c, errors.New("boom")).Error(),
		"slog":  logs.String(), "json": string(js),
	}
	for name, out := range outputs {
		assert.NotContains(t, out, c.SecretKey, name)
		assert.NotContains(t, out, c.Token, name)
		assert.NotContains(t, out, c.SecretID, name)
	}
	assert.Contains(t, outputs["%v"], "AKID****1234")
	assert.Contains(t, outputs["%v"], "env")
	assert.Contains(t, outputs["%#v"], "credential.Credentials{")
	assert.Contains(t, outputs["slog"], `"secret_id":"AKID****1234"`)
	assert.Contains(t, outputs["json"], `"source":"env"`)
	assert.Equal(t, "****", maskID("AKIDshort"))
	assert.Equal(t, "", maskID(""))
}
