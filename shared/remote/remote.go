// Package remote bounds the text that comes back from a remote (an API's or COS's error code, a
// request ID) before it is logged, answered or stored. A proxy or a misbehaving endpoint can put
// anything there: credentials it was sent, control characters, megabytes. Callers first remove
// the secrets they know (credential.Credentials.Scrub); these functions then keep what a real
// code or ID is made of, within a real one's length.
package remote

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessage bounds a message: some services and proxies put whole response bodies into them.
const MaxMessage = 200

// Message returns s as a one-line message: runs of white space and control characters become one
// space, invalid UTF-8 is replaced, and it is cut at MaxMessage bytes ("…" marks a cut).
func Message(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if len(s) <= MaxMessage {
		return s
	}
	cut := MaxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Longest accepted values. Real codes are at most about 60 bytes
// (FailedOperation.SdkAppIdNotExist, InvalidParameterValue.InstanceNotExist); request IDs are UUIDs.
const (
	MaxCode = 96
	MaxID   = 64
)

// Code returns s as an error code: letters, digits, '.', '_' and '-' only (any other byte becomes
// '_'), at most MaxCode bytes ("…" marks a cut).
func Code(s string) string { return bounded(s, MaxCode, ".") }

// ID returns s as a request ID: letters, digits, '.', '-' and '_' only (any other byte becomes
// '_'), at most MaxID bytes ("…" marks a cut).
func ID(s string) string { return bounded(s, MaxID, ".") }

func bounded(s string, limit int, extra string) string {
	cut := len(s) > limit
	if cut {
		s = s[:limit]
	}
	var b strings.Builder
	b.Grow(len(s) + 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_',
			strings.IndexByte(extra, c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}
