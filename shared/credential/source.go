package credential

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ExpiryMargin is how long before their expiry a Source stops handing out credentials: a request
// signed just before the expiry could be refused on arrival, and an API attempt may take up to
// its timeout (30 s by default).
const ExpiryMargin = time.Minute

// Errors a Source returns (wrapped) instead of credentials; use errors.Is.
var (
	// ErrExpired: the credentials are past their expiry (see ExpiredError).
	ErrExpired = errors.New("credentials expired")
	// ErrRefresh: the credentials could not be read again; the previous ones are not used.
	ErrRefresh = errors.New("credentials could not be read again")
	// ErrRejected: the cloud refused the current credentials' session token (expired or revoked).
	ErrRejected = errors.New("credentials refused by the cloud")
)

// ExpiredError says which credentials expired, when, and what said so. It never holds a secret.
type ExpiredError struct {
	Source     string // Credentials.Source
	Variables  string // where the key came from: the variables or the file
	ExpiredAt  time.Time
	ExpiryFrom string
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("the temporary credentials in %s expired at %s (per %s): renew them and set them again",
		e.Variables, e.ExpiredAt.UTC().Format(time.RFC3339), e.ExpiryFrom)
}

// Unwrap makes errors.Is(err, ErrExpired) true.
func (e *ExpiredError) Unwrap() error { return ErrExpired }

// Where names the variables or the file the credentials came from, for messages: never a value.
func (c Credentials) Where() string {
	switch {
	case c.Source == SourceSCFRole:
		return EnvSCFSecretID + ", " + EnvSCFSecretKey + " and " + EnvSCFSessionToken + " (the SCF run role)"
	case c.Source == SourceEnv:
		if c.Token != "" {
			return EnvSecretID + ", " + EnvSecretKey + " and " + EnvSessionToken
		}
		return EnvSecretID + " and " + EnvSecretKey
	case c.Source != "":
		return c.Source
	}
	return "the configured credentials"
}

// Source is the one holder of the credentials in use. The API client (tcloud) and the COS store
// both take their keys from it at each request, so that a rotation reaches both at once, and a
// failed refresh, an expiry or the cloud's refusal of a session token stops both with the same
// clear error instead of letting either go on with stale keys. It is safe for concurrent use.
type Source struct {
	now func() time.Time

	mu    sync.RWMutex
	creds Credentials
	err   error // why creds may not be used, until the next successful Set
}

// NewSource returns a Source holding c, which must be valid (Credentials.Validate). now is the
// clock expiry is judged by (nil: time.Now).
func NewSource(c Credentials, now func() time.Time) (*Source, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Source{now: now, creds: c}, nil
}

// Get returns the credentials to sign a request with, or why there are none: a failed refresh
// (ErrRefresh), an expiry (an *ExpiredError, also ErrExpired) or the cloud's refusal of the
// session token (ErrRejected). Errors name the variables, never a value.
func (s *Source) Get() (Credentials, error) {
	s.mu.RLock()
	c, err := s.creds, s.err
	s.mu.RUnlock()
	if err != nil {
		return Credentials{}, err
	}
	if !c.Expiry.IsZero() && !s.now().Before(c.Expiry.Add(-ExpiryMargin)) {
		return Credentials{}, &ExpiredError{Source: c.Source, Variables: c.Where(), ExpiredAt: c.Expiry, ExpiryFrom: c.ExpiryFrom}
	}
	return c, nil
}

// Current returns the credentials held, usable or not: for scrubbing remote text of them and for
// describing them, never for signing (use Get).
func (s *Source) Current() Credentials {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.creds
}

// Set replaces the credentials (a rotation) and clears a previous failure. Invalid credentials
// are refused and change nothing. changed is false when c holds the same keys as before (its
// expiry and source are still taken).
func (s *Source) Set(c Credentials) (changed bool, err error) {
	if err := c.Validate(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed = !s.creds.Same(c)
	s.creds, s.err = c, nil
	return changed, nil
}

// Refresh reads the credentials again with load and sets them. When load fails, the current
// credentials stop being handed out: every request of every client using the Source fails with
// an error wrapping ErrRefresh and load's error, until a later Refresh or Set succeeds.
func (s *Source) Refresh(load func() (Credentials, error)) (changed bool, err error) {
	c, err := load()
	if err == nil {
		changed, err = s.Set(c)
	}
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrRefresh, err)
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		return false, err
	}
	return changed, nil
}

// Reject records that the cloud refused the session token of c (an API's
// AuthFailure.TokenFailure, COS's ExpiredToken or InvalidToken): while c is the Source's
// credentials, every client using it fails before sending anything, with an error wrapping
// ErrRejected that names where the keys came from. why is the refusal's code. Credentials other
// than the current ones (a rotation happened meanwhile) are not affected.
func (s *Source) Reject(c Credentials, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.creds.Same(c) || s.err != nil {
		return
	}
	s.err = fmt.Errorf("%w: the session token in %s was refused (%s); renew the credentials", ErrRejected, c.Where(), why)
}
