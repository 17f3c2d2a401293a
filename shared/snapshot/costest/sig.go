package costest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file implements the COS request signature (q-sign-algorithm=sha1) from its published
// description, independently of the SDK, so the test server really checks what the SDK sends.

// cosEncode percent-encodes every byte except A-Z a-z 0-9 - _ . ~, with upper-case hex.
func cosEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func hmacSHA1Hex(key, msg string) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// pair is one encoded name=value of the parameter or header part of the string to sign.
type pair struct{ k, v string }

// canonical joins pairs sorted by name then value as "k1=v1&k2=v2".
func canonical(ps []pair) string {
	slices.SortFunc(ps, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// cosSignature computes q-signature. path is the decoded request path; params and headers are
// the already encoded, lower-cased pairs listed in q-url-param-list and q-header-list.
func cosSignature(secretKey, keyTime, signTime, method, path string, params, headers []pair) string {
	signKey := hmacSHA1Hex(secretKey, keyTime)
	httpString := strings.ToLower(method) + "\n" + path + "\n" + canonical(params) + "\n" + canonical(headers) + "\n"
	stringToSign := "sha1\n" + signTime + "\n" + sha1Hex(httpString) + "\n"
	return hmacSHA1Hex(signKey, stringToSign)
}

// authError is a rejected signature: the COS error code and a message.
type authError struct{ code, msg string }

func (e *authError) Error() string { return e.code + ": " + e.msg }

// verifyRequest checks the Authorization header of r against the known key.
func verifyRequest(r *http.Request, secretID, secretKey, token string, now time.Time, skew time.Duration) *authError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &authError{"AccessDenied", "no Authorization header"}
	}
	f := map[string]string{}
	for part := range strings.SplitSeq(auth, "&") {
		k, v, _ := strings.Cut(part, "=")
		f[k] = v
	}
	if f["q-sign-algorithm"] != "sha1" {
		return &authError{"InvalidArgument", "q-sign-algorithm must be sha1"}
	}
	if f["q-ak"] != secretID {
		return &authError{"InvalidAccessKeyId", "the SecretId is not known"}
	}
	for _, name := range []string{"q-sign-time", "q-key-time"} {
		start, end, ok := strings.Cut(f[name], ";")
		s, err1 := strconv.ParseInt(start, 10, 64)
		e, err2 := strconv.ParseInt(end, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return &authError{"InvalidArgument", name + " is malformed"}
		}
		if now.Add(skew).Unix() < s || now.Add(-skew).Unix() > e {
			return &authError{"RequestTimeTooSkewed", name + " does not cover the server time"}
		}
	}
	var headers []pair
	listed := map[string]bool{}
	for name := range strings.SplitSeq(f["q-header-list"], ";") {
		if name == "" || listed[name] {
			continue
		}
		listed[name] = true
		var vals []string
		switch name {
		case "host":
			vals = []string{r.Host}
		default:
			vals = r.Header.Values(name)
			if len(vals) == 0 && name == "content-length" && r.ContentLength >= 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		}
		if len(vals) == 0 {
			return &authError{"SignatureDoesNotMatch", fmt.Sprintf("signed header %q is absent", name)}
		}
		for _, v := range vals {
			headers = append(headers, pair{name, cosEncode(v)})
		}
	}
	if !listed["host"] {
		return &authError{"SignatureDoesNotMatch", "host is not signed"}
	}
	if token != "" {
		if !listed["x-cos-security-token"] || r.Header.Get("X-Cos-Security-Token") != token {
			return &authError{"InvalidToken", "the session token is missing or wrong"}
		}
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return &authError{"InvalidArgument", "malformed query"}
	}
	byName := map[string][]string{}
	for k, vs := range query {
		n := strings.ToLower(cosEncode(k))
		byName[n] = append(byName[n], vs...)
	}
	var params []pair
	seen := map[string]bool{}
	for name := range strings.SplitSeq(f["q-url-param-list"], ";") {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		vs, ok := byName[name]
		if !ok {
			return &authError{"SignatureDoesNotMatch", fmt.Sprintf("signed parameter %q is absent", name)}
		}
		for _, v := range vs {
			params = append(params, pair{name, cosEncode(v)})
		}
	}
	want := cosSignature(secretKey, f["q-key-time"], f["q-sign-time"], r.Method, r.URL.Path, params, headers)
	if !hmac.Equal([]byte(want), []byte(f["q-signature"])) {
		return &authError{"SignatureDoesNotMatch", "the request signature does not match"}
	}
	return nil
}
