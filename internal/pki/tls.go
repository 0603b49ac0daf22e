package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// maxChainLen bounds the certificates VerifyAgent accepts from a peer.
const maxChainLen = 4

// ServerTLS returns the configuration of the server's listener: TLS 1.3,
// serverCert (CA.IssueServer), and client certificates requested but
// optional (tls.VerifyClientCertIfGiven), because agents enroll on the same
// listener before they have one. A client certificate that is sent must
// chain to this CA, be current and for client authentication, name exactly
// one agent (AgentID), and its serial must not be revoked, or the handshake
// fails. The check runs on every handshake, resumed sessions included.
//
// revoked may be nil; otherwise it is called during handshakes, from many
// goroutines, with Serial of the client certificate, and must be fast.
// Handlers learn the agent with PeerAgent, and must themselves refuse
// anything but enrollment to connections without one (ErrNoClientCert).
func (ca *CA) ServerTLS(serverCert tls.Certificate, revoked func(serial string) bool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.pool,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return nil // enrollment
			}
			_, err := checkAgent(cs.PeerCertificates[0], revoked)
			return err
		},
	}
}

// VerifyAgent verifies a client certificate chain as sent in a TLS
// handshake (leaf first) against the CA, for use where ServerTLS is not: the
// leaf must chain to the CA, be current and for client authentication, name
// exactly one agent, and not be revoked (revoked may be nil). It returns the
// agent ID.
func (ca *CA) VerifyAgent(rawCerts [][]byte, revoked func(serial string) bool) (string, error) {
	if len(rawCerts) == 0 {
		return "", ErrNoClientCert
	}
	if len(rawCerts) > maxChainLen {
		return "", fmt.Errorf("verify agent: %d certificates, at most %d", len(rawCerts), maxChainLen)
	}
	certs := make([]*x509.Certificate, len(rawCerts))
	for i, raw := range rawCerts {
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return "", fmt.Errorf("verify agent: certificate %d: %w", i, err)
		}
		certs[i] = c
	}
	opts := x509.VerifyOptions{
		Roots:         ca.pool,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   ca.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return "", fmt.Errorf("verify agent: %w", err)
	}
	id, err := checkAgent(certs[0], revoked)
	if err != nil {
		return "", fmt.Errorf("verify agent: %w", err)
	}
	return id, nil
}

// checkAgent applies the agent-specific checks to a verified leaf.
func checkAgent(leaf *x509.Certificate, revoked func(string) bool) (string, error) {
	id, err := AgentID(leaf)
	if err != nil {
		return "", err
	}
	if revoked != nil {
		if s := Serial(leaf); revoked(s) {
			return "", fmt.Errorf("agent %s: %w: serial %s", id, ErrRevoked, s)
		}
	}
	return id, nil
}

// PeerAgent returns the agent ID of the verified client certificate of a
// connection accepted with ServerTLS (for HTTP, the request's TLS field),
// or ErrNoClientCert if the client presented none.
func PeerAgent(cs *tls.ConnectionState) (string, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", ErrNoClientCert
	}
	return AgentID(cs.VerifiedChains[0][0])
}

// ClientTLS returns the agent's configuration for connecting to the server:
// TLS 1.3, the CA certificate caCertPEM as the only trusted root, and the
// agent certificate certDER with its key as the client certificate. certDER
// and key may both be nil before enrollment. The caller sets ServerName
// when it dials by a name other than one the server certificate carries.
func ClientTLS(caCertPEM, certDER []byte, key crypto.Signer) (*tls.Config, error) {
	ca, err := DecodeCertPEM(caCertPEM)
	if err != nil {
		return nil, fmt.Errorf("client TLS: CA certificate: %w", err)
	}
	if !ca.IsCA {
		return nil, errors.New("client TLS: CA certificate is not a CA")
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}
	if certDER == nil && key == nil {
		return cfg, nil
	}
	if certDER == nil || key == nil {
		return nil, errors.New("client TLS: need both a certificate and its key, or neither")
	}
	leaf, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("client TLS: agent certificate: %w", err)
	}
	if err := matchKey(leaf, key); err != nil {
		return nil, fmt.Errorf("client TLS: %w", err)
	}
	cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{certDER}, PrivateKey: key, Leaf: leaf}}
	return cfg, nil
}

// matchKey reports whether key is the private key of cert.
func matchKey(cert *x509.Certificate, key crypto.Signer) error {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return errors.New("key does not match certificate")
	}
	return nil
}
