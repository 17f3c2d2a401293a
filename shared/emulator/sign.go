package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// tc3Algorithm is the only signing algorithm the emulator accepts.
const tc3Algorithm = "TC3-HMAC-SHA256"

// authHeader is a parsed TC3-HMAC-SHA256 Authorization header.
type authHeader struct {
	SecretID      string
	Date          string // UTC date of the credential scope, YYYY-MM-DD
	Service       string
	SignedHeaders []string // lower case, in the order sent
	Signature     string   // lower-case hex
}

// Scope returns the credential scope "date/service/tc3_request".
func (a authHeader) Scope() string { return a.Date + "/" + a.Service + "/tc3_request" }

var (
	dateRE      = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	signatureRE = regexp.MustCompile(`^[0-9a-f]{64}$`)
	headerKeyRE = regexp.MustCompile(`^[a-z0-9-]+$`)
)

// parseAuthorization parses
// "TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=a;b, Signature=<hex>".
func parseAuthorization(v string) (authHeader, error) {
	var a authHeader
	alg, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || alg != tc3Algorithm {
		return a, fmt.Errorf("authorization must start with %q", tc3Algorithm+" ")
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, fmt.Errorf("authorization part %q is not key=value", part)
		}
		if _, dup := fields[k]; dup {
			return a, fmt.Errorf("authorization repeats %s", k)
		}
		fields[k] = val
	}
	if len(fields) != 3 {
		return a, fmt.Errorf("authorization needs exactly Credential, SignedHeaders and Signature")
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 4 || cred[0] == "" || cred[2] == "" || cred[3] != "tc3_request" || !dateRE.MatchString(cred[1]) {
		return a, fmt.Errorf("credential must be <SecretId>/<YYYY-MM-DD>/<service>/tc3_request")
	}
	a.SecretID, a.Date, a.Service = cred[0], cred[1], cred[2]
	sh := fields["SignedHeaders"]
	if sh == "" {
		return a, fmt.Errorf("signed headers are empty")
	}
	a.SignedHeaders = strings.Split(sh, ";")
	for _, h := range a.SignedHeaders {
		if !headerKeyRE.MatchString(h) {
			return a, fmt.Errorf("signed header %q is not a lower-case header name", h)
		}
	}
	if !slices.IsSorted(a.SignedHeaders) || len(slices.Compact(slices.Clone(a.SignedHeaders))) != len(a.SignedHeaders) {
		return a, fmt.Errorf("signed headers must be sorted and distinct")
	}
	if !slices.Contains(a.SignedHeaders, "content-type") || !slices.Contains(a.SignedHeaders, "host") {
		return a, fmt.Errorf("signed headers must include content-type and host")
	}
	a.Signature = fields["Signature"]
	if !signatureRE.MatchString(a.Signature) {
		return a, fmt.Errorf("signature must be 64 lower-case hex digits")
	}
	return a, nil
}

// sha256Hex returns the lower-case hex SHA-256 of b.
func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// hmacSHA256 returns HMAC-SHA256(key, msg).
func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// canonicalRequest builds the TC3 canonical request of a POST (or GET) to "/" with an empty query
// string. header returns the value of a signed header (its lower-case name); values are trimmed and
// lower-cased here.
func canonicalRequest(method string, signed []string, header func(name string) string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(method + "\n/\n\n")
	for _, h := range signed {
		b.WriteString(h + ":" + strings.ToLower(strings.TrimSpace(header(h))) + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payloadHash)
	return b.String()
}

// stringToSign builds the TC3 string to sign.
func stringToSign(timestamp, scope, canonical string) string {
	return tc3Algorithm + "\n" + timestamp + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
}

// signingKey derives SecretSigning from the secret key, the UTC date and the service.
func signingKey(secretKey, date, service string) []byte {
	secretDate := hmacSHA256([]byte("TC3"+secretKey), date)
	secretService := hmacSHA256(secretDate, service)
	return hmacSHA256(secretService, "tc3_request")
}

// signature returns the lower-case hex TC3 signature of sts.
func signature(secretKey, date, service, sts string) string {
	return hex.EncodeToString(hmacSHA256(signingKey(secretKey, date, service), sts))
}
