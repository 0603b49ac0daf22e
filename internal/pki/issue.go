package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// maxCSRBytes bounds a certificate signing request: one with a P-256 key is
// about 250 bytes, one with an RSA 4096 key under 2 KiB.
const maxCSRBytes = 16 << 10

// newSerial returns a random positive serial number of at most 128 bits.
func newSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("serial: %w", err)
		}
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// validity returns NotBefore and NotAfter for a certificate issued now for
// ttl, never past the CA certificate's own NotAfter.
func (ca *CA) validity(ttl time.Duration) (time.Time, time.Time, error) {
	if ttl <= 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("lifetime %s, want a positive one", ttl)
	}
	now := ca.now()
	notAfter := now.Add(ttl)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	return now.Add(-clockSkew), notAfter, nil
}

// IssueServer issues a certificate for the server's TLS listener, valid for
// ttl (at most until the CA expires) for server authentication on each of
// hosts, which are DNS names or IP addresses (IPv6 with or without
// brackets). The ECDSA P-256 key is made here and lives only in memory:
// the server issues a new certificate each time it starts.
func (ca *CA) IssueServer(hosts []string, ttl time.Duration) (tls.Certificate, error) {
	if len(hosts) == 0 {
		return tls.Certificate{}, errors.New("issue server certificate: no host names")
	}
	notBefore, notAfter, err := ca.validity(ttl)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0]},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]")
		if ip, err := netip.ParseAddr(h); err == nil {
			if ip.Zone() != "" {
				return tls.Certificate{}, fmt.Errorf("issue server certificate: address %q has a zone", h)
			}
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.AsSlice()))
			continue
		}
		if h == "" || strings.ContainsAny(h, " /:@\\") {
			return tls.Certificate{}, fmt.Errorf("issue server certificate: invalid host name %q", h)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("issue server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// ParseCSR parses a DER certificate signing request from an agent, checks
// its signature (the requester holds the key) and accepts only ECDSA P-256
// or P-384, Ed25519 and RSA keys of 2048 to 8192 bits. Everything else in
// the request (subject, SANs, extensions) is ignored by SignAgent. Errors
// wrap ErrBadCSR.
func ParseCSR(der []byte) (*x509.CertificateRequest, error) {
	if len(der) > maxCSRBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadCSR, len(der), maxCSRBytes)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	if err := checkKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCSR, err)
	}
	return csr, nil
}

func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return fmt.Errorf("ECDSA curve %s not accepted", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 8192 {
			return fmt.Errorf("RSA key of %d bits not accepted", n)
		}
	default:
		return fmt.Errorf("key type %T not accepted", pub)
	}
	return nil
}

// SignAgent issues agent agentID a client certificate for the key of the
// certificate signing request csrDER, valid for ttl (at most until the CA
// expires). The request's signature must verify (ParseCSR); its subject,
// SANs and extensions are ignored. The certificate's identity is the
// server's choice: common name agentID, one URI SAN vigil://agent/<agentID>,
// no other names, client authentication only, not a CA, and a random 128-bit
// serial. It returns the DER certificate, its serial as Serial writes it and
// its NotAfter.
func (ca *CA) SignAgent(csrDER []byte, agentID string, ttl time.Duration) (certDER []byte, serial string, notAfter time.Time, err error) {
	fail := func(err error) ([]byte, string, time.Time, error) {
		return nil, "", time.Time{}, fmt.Errorf("sign agent certificate: %w", err)
	}
	if err := ValidateAgentID(agentID); err != nil {
		return fail(err)
	}
	notBefore, notAfter, err := ca.validity(ttl)
	if err != nil {
		return fail(err)
	}
	csr, err := ParseCSR(csrDER)
	if err != nil {
		return fail(err)
	}
	sn, err := newSerial()
	if err != nil {
		return fail(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: agentID},
		URIs:                  []*url.URL{AgentURI(agentID)},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return fail(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fail(err)
	}
	return der, Serial(cert), cert.NotAfter, nil
}
