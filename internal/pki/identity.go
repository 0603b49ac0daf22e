package pki

import (
	"crypto/x509"
	"fmt"
	"net/url"
)

// Agent identity URIs are vigil://agent/<id>.
const (
	uriScheme = "vigil"
	uriHost   = "agent"
)

// MaxAgentIDLen is the longest agent ID: the ID is also the certificate's
// common name, which X.520 limits to 64 characters.
const MaxAgentIDLen = 64

// ValidateAgentID reports whether id can name an agent: 1 to MaxAgentIDLen
// ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.
// The ID goes into a URI path and a common name unescaped, so nothing else
// is allowed.
func ValidateAgentID(id string) error {
	if id == "" || len(id) > MaxAgentIDLen {
		return fmt.Errorf("%w: length %d, want 1 to %d", ErrBadAgentID, len(id), MaxAgentIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("%w: %q: character %q at %d", ErrBadAgentID, id, c, i)
		}
	}
	return nil
}

// AgentURI returns the URI naming agent id in its certificate,
// vigil://agent/<id>. The id must be valid (ValidateAgentID).
func AgentURI(id string) *url.URL {
	return &url.URL{Scheme: uriScheme, Host: uriHost, Path: "/" + id}
}

// AgentID returns the agent ID a certificate names: the certificate must
// carry exactly one URI SAN vigil://agent/<id>, with nothing but a valid ID
// after the host. It does not verify the certificate; use it on verified
// chains only (PeerAgent, CA.VerifyAgent).
func AgentID(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", fmt.Errorf("%w: no certificate", ErrNotAgent)
	}
	var id string
	n := 0
	for _, u := range cert.URIs {
		if u.Scheme != uriScheme || u.Host != uriHost {
			continue
		}
		n++
		if u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
			u.Fragment != "" || u.RawPath != "" || len(u.Path) < 2 || u.Path[0] != '/' {
			return "", fmt.Errorf("%w: malformed agent URI %q", ErrNotAgent, u.String())
		}
		id = u.Path[1:]
		if err := ValidateAgentID(id); err != nil {
			return "", fmt.Errorf("%w: %w", ErrNotAgent, err)
		}
	}
	if n != 1 {
		return "", fmt.Errorf("%w: %d agent URIs, want exactly 1", ErrNotAgent, n)
	}
	return id, nil
}

// Serial returns a certificate's serial number as revocation lists and the
// store write it: lowercase hex, zero-padded to 32 digits.
func Serial(cert *x509.Certificate) string {
	return fmt.Sprintf("%032x", cert.SerialNumber)
}
