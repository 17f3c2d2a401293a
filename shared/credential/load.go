package credential

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Load finds API credentials. env is os.Getenv in production; home is the user's home
// directory ("" skips the files under it). Sources, first match wins:
//
//  1. the SCF run-role variables TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and
//     TENCENTCLOUD_SESSIONTOKEN;
//  2. TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, with optional TENCENTCLOUD_SESSION_TOKEN;
//  3. the SDK profile file: TENCENTCLOUD_CREDENTIALS_FILE, or <home>/.tencentcloud/credentials
//     (INI, section [default], keys secret_id and secret_key);
//  4. the tccli profile <home>/.tccli/<TCCLI_PROFILE or default>.credential (JSON secretId,
//     secretKey and optional token).
//
// Expiry is known for the second source when TCUSAGE_CREDENTIALS_EXPIRE_AT says it, and for a
// tccli profile that carries expiresAt (tccli's temporary logins); a Source refuses credentials
// past it.
//
// The CVM metadata service is never asked. A pair set by half (in either variable pair), a value
// containing whitespace, a named credentials file that does not exist and a malformed file are
// errors that name the variable or file; no source at all is an error wrapping ErrNoCredentials
// that lists what to set. Errors never contain secret values.
func Load(env func(string) string, home string) (Credentials, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	scf, scfOK, err := envPair(env, EnvSCFSecretID, EnvSCFSecretKey, EnvSCFSessionToken)
	if err != nil {
		return Credentials{}, err
	}
	plain, plainOK, err := envPair(env, EnvSecretID, EnvSecretKey, EnvSessionToken)
	if err != nil {
		return Credentials{}, err
	}
	if scfOK {
		scf.Source = SourceSCFRole
		return scf, nil
	}
	if plainOK {
		plain.Source = SourceEnv
		if v := strings.TrimSpace(env(EnvExpireAt)); v != "" {
			t, err := parseExpiry(v)
			if err != nil {
				return Credentials{}, fmt.Errorf("%s: %w", EnvExpireAt, err)
			}
			plain.Expiry, plain.ExpiryFrom = t, EnvExpireAt
		}
		return plain, nil
	}

	if path := env(EnvCredentialsFile); path != "" {
		c, found, err := loadProfileFile(path)
		if err != nil {
			return Credentials{}, err
		}
		if !found {
			return Credentials{}, fmt.Errorf("%s names %s, which does not exist", EnvCredentialsFile, path)
		}
		return c, nil
	}
	if home != "" {
		c, found, err := loadProfileFile(filepath.Join(home, ".tencentcloud", "credentials"))
		if err != nil || found {
			return c, err
		}
		profile := env(EnvTccliProfile)
		if profile == "" {
			profile = "default"
		}
		if strings.ContainsAny(profile, `/\`) || profile == "." || profile == ".." {
			return Credentials{}, fmt.Errorf("%s %q is not a plain profile name", EnvTccliProfile, profile)
		}
		c, found, err = loadTccliFile(filepath.Join(home, ".tccli", profile+".credential"))
		if err != nil || found {
			return c, err
		}
	}
	return Credentials{}, fmt.Errorf("%w: set %s and %s (and %s for temporary keys), or run in SCF with a run role "+
		"(which sets %s, %s and %s), or write an SDK profile file (%s or ~/.tencentcloud/credentials) or a tccli profile",
		ErrNoCredentials, EnvSecretID, EnvSecretKey, EnvSessionToken, EnvSCFSecretID, EnvSCFSecretKey, EnvSCFSessionToken, EnvCredentialsFile)
}

// envPair reads one id/key/token variable triple. ok is false when neither id nor key is set.
func envPair(env func(string) string, idVar, keyVar, tokenVar string) (Credentials, bool, error) {
	id, key, token := env(idVar), env(keyVar), env(tokenVar)
	for _, v := range []struct{ name, value string }{{idVar, id}, {keyVar, key}, {tokenVar, token}} {
		if err := checkValue(v.name, v.value); err != nil {
			return Credentials{}, false, err
		}
	}
	switch {
	case id == "" && key == "" && token == "":
		return Credentials{}, false, nil
	case id == "" && key == "":
		return Credentials{}, false, fmt.Errorf("%s is set but %s and %s are not", tokenVar, idVar, keyVar)
	case id == "":
		return Credentials{}, false, fmt.Errorf("%s is set but %s is not: set both or neither", keyVar, idVar)
	case key == "":
		return Credentials{}, false, fmt.Errorf("%s is set but %s is not: set both or neither", idVar, keyVar)
	}
	return Credentials{SecretID: id, SecretKey: key, Token: token}, true, nil
}

// checkValue rejects whitespace anywhere in a credential value: the API and COS reject such keys
// with confusing signature errors.
func checkValue(name, value string) error {
	if strings.ContainsFunc(value, unicode.IsSpace) {
		return fmt.Errorf("%s contains whitespace (check for a stray space or newline around the value)", name)
	}
	return nil
}

// loadProfileFile reads the [default] section of an SDK INI profile file.
func loadProfileFile(path string) (Credentials, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, false, nil
	}
	if err != nil {
		return Credentials{}, false, fmt.Errorf("read credentials file: %w", err)
	}
	values := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return Credentials{}, false, fmt.Errorf("credentials file %s line %d: malformed section header", path, n)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Credentials{}, false, fmt.Errorf("credentials file %s line %d: expected key = value", path, n)
		}
		if section == "default" {
			values[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return Credentials{}, false, fmt.Errorf("read credentials file %s: %w", path, err)
	}
	c := Credentials{SecretID: values["secret_id"], SecretKey: values["secret_key"], Source: SourceProfile + ":" + path}
	if err := checkFileCreds(path, "[default] secret_id", "[default] secret_key", "", c); err != nil {
		return Credentials{}, false, err
	}
	return c, true, nil
}

// parseExpiry reads an expiry: RFC 3339, or unix seconds. The error does not quote the value.
func parseExpiry(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, errors.New("want an RFC 3339 time (2026-11-24T18:00:00Z) or unix seconds")
}

// tccliCredential is the JSON layout of a tccli .credential file. Temporary keys (tccli's oauth
// and sso logins) carry expiresAt, unix seconds.
type tccliCredential struct {
	SecretID  string `json:"secretId"`
	SecretKey string `json:"secretKey"`
	Token     string `json:"token"`
	ExpiresAt int64  `json:"expiresAt"`
}

func loadTccliFile(path string) (Credentials, bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Credentials{}, false, nil
	}
	if err != nil {
		return Credentials{}, false, fmt.Errorf("read tccli profile: %w", err)
	}
	var tc tccliCredential
	if err := json.Unmarshal(data, &tc); err != nil {
		// Not %w: a JSON syntax error can quote part of the file.
		return Credentials{}, false, fmt.Errorf("tccli profile %s is not valid JSON", path)
	}
	c := Credentials{SecretID: tc.SecretID, SecretKey: tc.SecretKey, Token: tc.Token, Source: SourceTccli + ":" + path}
	if err := checkFileCreds(path, "secretId", "secretKey", "token", c); err != nil {
		return Credentials{}, false, err
	}
	if tc.ExpiresAt > 0 {
		c.Expiry, c.ExpiryFrom = time.Unix(tc.ExpiresAt, 0), path+" expiresAt"
	}
	return c, true, nil
}

func checkFileCreds(path, idName, keyName, tokenName string, c Credentials) error {
	if c.SecretID == "" || c.SecretKey == "" {
		missing := idName
		if c.SecretID != "" {
			missing = keyName
		} else if c.SecretKey == "" {
			missing = idName + " and " + keyName
		}
		return fmt.Errorf("credentials file %s: %s missing or empty", path, missing)
	}
	for _, v := range []struct{ name, value string }{{idName, c.SecretID}, {keyName, c.SecretKey}, {tokenName, c.Token}} {
		if err := checkValue(v.name, v.value); err != nil {
			return fmt.Errorf("credentials file %s: %w", path, err)
		}
	}
	return nil
}
