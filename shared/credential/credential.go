// Package credential finds the Tencent Cloud API keys that sign both the API calls and the COS
// requests, and keeps them out of every log, error and answer.
//
// Inside SCF the run role's temporary key arrives in TENCENTCLOUD_SECRETID,
// TENCENTCLOUD_SECRETKEY and TENCENTCLOUD_SESSIONTOKEN. The SDK has no provider for these
// variables, and its default chain falls through to the CVM metadata service (a GET with no
// timeout), so Load reads them itself, then the SDK's own variables and profile files, and never
// asks the metadata service. Credentials redacts itself in every printed, logged or JSON form,
// and Scrub removes its secrets from text that came back from a remote.
package credential

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Environment variables read by Load.
const (
	// EnvSCFSecretID, EnvSCFSecretKey and EnvSCFSessionToken are set by the SCF runtime with the
	// temporary credentials of the function's run role (note: no underscore inside SECRETID).
	EnvSCFSecretID     = "TENCENTCLOUD_SECRETID"
	EnvSCFSecretKey    = "TENCENTCLOUD_SECRETKEY"
	EnvSCFSessionToken = "TENCENTCLOUD_SESSIONTOKEN"

	// EnvSecretID, EnvSecretKey and EnvSessionToken are the SDK's variables for a key pair set by
	// hand (local runs, CI); the token is optional.
	EnvSecretID     = "TENCENTCLOUD_SECRET_ID"
	EnvSecretKey    = "TENCENTCLOUD_SECRET_KEY"
	EnvSessionToken = "TENCENTCLOUD_SESSION_TOKEN"

	// EnvCredentialsFile names an SDK profile file to use instead of ~/.tencentcloud/credentials.
	EnvCredentialsFile = "TENCENTCLOUD_CREDENTIALS_FILE"

	// EnvTccliProfile selects the tccli profile (~/.tccli/<name>.credential); default "default".
	EnvTccliProfile = "TCCLI_PROFILE"

	// EnvExpireAt says when a temporary key set in TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY
	// and TENCENTCLOUD_SESSION_TOKEN expires: RFC 3339, or unix seconds (the ExpiredTime of an
	// STS answer). Keys past it are refused before any call. It applies to that pair only: SCF does
	// not say when the run role's keys expire (they last at most 6 h, and each invocation brings
	// the current ones), and a tccli profile carries its own expiresAt.
	EnvExpireAt = "TCUSAGE_CREDENTIALS_EXPIRE_AT"
)

// Credential sources reported in Credentials.Source (file sources add ":" and the path).
const (
	SourceSCFRole = "scf-role-env"
	SourceEnv     = "env"
	SourceProfile = "profile"
	SourceTccli   = "tccli"
)

// ErrNoCredentials is returned (wrapped) by Load when no source has credentials.
var ErrNoCredentials = errors.New("no Tencent Cloud credentials found")

// Credentials is an API key pair, with an optional session token for temporary credentials.
// Its String, GoString, Format, LogValue and MarshalJSON methods never reveal SecretKey or
// Token and show SecretID only masked, so a Credentials value can be printed or logged safely.
type Credentials struct {
	SecretID  string
	SecretKey string
	Token     string
	// Source says where the credentials came from, e.g. "env" or "profile:/root/.tencentcloud/credentials".
	Source string
	// Expiry is when temporary credentials stop working; zero when unknown (permanent keys, and
	// the SCF run role's keys, whose expiry SCF does not expose). ExpiryFrom names what said so
	// (a variable, or a file's field).
	Expiry     time.Time
	ExpiryFrom string
}

// MaskedSecretID returns the secret ID with all but its first and last four characters hidden
// (AKID****1234); short IDs are hidden completely.
func (c Credentials) MaskedSecretID() string {
	return maskID(c.SecretID)
}

func maskID(id string) string {
	if id == "" {
		return ""
	}
	if len(id) < 12 {
		return "****"
	}
	return id[:4] + "****" + id[len(id)-4:]
}

func (c Credentials) redactedFields() (key, token string) {
	key, token = "", ""
	if c.SecretKey != "" {
		key = "[redacted]"
	}
	if c.Token != "" {
		token = "[redacted]"
	}
	return key, token
}

// String describes the credentials without revealing them.
func (c Credentials) String() string {
	key, token := c.redactedFields()
	return fmt.Sprintf("{Source:%s SecretID:%s SecretKey:%s Token:%s%s}", c.Source, c.MaskedSecretID(), key, token, c.expiryText())
}

// expiryText is " Expiry:<RFC 3339>" when the expiry is known, else "".
func (c Credentials) expiryText() string {
	if c.Expiry.IsZero() {
		return ""
	}
	return " Expiry:" + c.Expiry.UTC().Format(time.RFC3339)
}

// Same reports whether c and o are the same keys (whatever their source and expiry).
func (c Credentials) Same(o Credentials) bool {
	return c.SecretID == o.SecretID && c.SecretKey == o.SecretKey && c.Token == o.Token
}

// GoString is String in Go syntax, so %#v cannot leak the secrets either.
func (c Credentials) GoString() string {
	key, token := c.redactedFields()
	return fmt.Sprintf("credential.Credentials{Source:%q, SecretID:%q, SecretKey:%q, Token:%q}", c.Source, c.MaskedSecretID(), key, token)
}

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %s, %d, %x, ...) prints the
// redacted form.
func (c Credentials) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, c.GoString())
		return
	}
	_, _ = fmt.Fprint(f, c.String())
}

// LogValue implements slog.LogValuer: the source and the masked secret ID only.
func (c Credentials) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("source", c.Source),
		slog.String("secret_id", c.MaskedSecretID()),
		slog.Bool("token", c.Token != ""),
	}
	if !c.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", c.Expiry.UTC()))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the redacted form, so encoding a struct that holds Credentials cannot leak.
func (c Credentials) MarshalJSON() ([]byte, error) {
	var expiry *time.Time
	if !c.Expiry.IsZero() {
		t := c.Expiry.UTC()
		expiry = &t
	}
	return json.Marshal(struct {
		Source   string     `json:"source"`
		SecretID string     `json:"secret_id"`
		Token    bool       `json:"token"`
		Expiry   *time.Time `json:"expiry,omitempty"`
	}{c.Source, c.MaskedSecretID(), c.Token != "", expiry})
}

// Scrub returns s with the secrets of c removed: the key and the token replaced by
// "[redacted]", the secret ID masked. Use it on any text that came back from a remote (an error
// message, a code, a request ID), which a proxy or endpoint may have filled with what it was sent.
func (c Credentials) Scrub(s string) string {
	for _, secret := range []string{c.SecretKey, c.Token} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	if len(c.SecretID) >= 4 {
		s = strings.ReplaceAll(s, c.SecretID, maskID(c.SecretID))
	}
	return s
}

// Validate reports whether c can sign requests: a SecretID and a SecretKey, and no whitespace in
// any value (the API and COS reject such keys with confusing signature errors). The error names
// the field, never its value.
func (c Credentials) Validate() error {
	if c.SecretID == "" || c.SecretKey == "" {
		return errors.New("credentials need a SecretID and a SecretKey")
	}
	for _, v := range []struct{ name, value string }{{"SecretID", c.SecretID}, {"SecretKey", c.SecretKey}, {"Token", c.Token}} {
		if err := checkValue("credentials "+v.name, v.value); err != nil {
			return err
		}
	}
	return nil
}
