package cos

import (
	"fmt"
	"net/http"
	"time"

	cossdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/tcusage/tcusage/shared/credential"
)

// signExpiry is how long a request's signature is valid, as the SDK's own signing transport.
const signExpiry = time.Hour

// signer signs each request with the keys its credential source holds at that moment, so that a
// rotation, a failed refresh or an expiry set on the source applies to the next request. A source
// that has no usable keys fails the request before anything is sent.
type signer struct {
	src  *credential.Source
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *signer) RoundTrip(req *http.Request) (*http.Response, error) {
	c, err := t.src.Get()
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("cos: %w", err)
	}
	req = req.Clone(req.Context())
	cossdk.AddAuthorizationHeader(c.SecretID, c.SecretKey, c.Token, req, cossdk.NewAuthTime(signExpiry))
	return t.next.RoundTrip(req)
}

// GetCredential implements the SDK's TransportIface (used to presign URLs).
func (t *signer) GetCredential() (string, string, string, error) {
	c, err := t.src.Get()
	if err != nil {
		return "", "", "", err
	}
	return c.SecretID, c.SecretKey, c.Token, nil
}
