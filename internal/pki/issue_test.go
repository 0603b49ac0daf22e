package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"net/url"
	"regexp"
	"testing"
	"time"
)

// TestSignAgentIgnoresRequestedIdentity sends a request that claims
// another agent, an administrator name, server names and CA powers: the
// certificate carries only what the server chose.
func TestSignAgentIgnoresRequestedIdentity(t *testing.T) {
	ca := newTestCA(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := url.Parse("vigil://agent/other-agent")
	web, _ := url.Parse("https://evil.example")
	basicCA, _ := asn1.Marshal(struct {
		IsCA bool `asn1:"optional"`
	}{true})
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: "admin", Organization: []string{"Vigil"}},
		DNSNames:       []string{"vigil.example.com"},
		EmailAddresses: []string{"root@example.com"},
		IPAddresses:    []net.IP{net.ParseIP("10.0.0.1")},
		URIs:           []*url.URL{other, web},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: basicCA},
		},
	}, key)
	if err != nil {
		t.Fatal(err)
	}

	der, serial, notAfter, err := ca.SignAgent(csr, "agent-7", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "agent-7" || len(cert.Subject.Organization) != 0 {
		t.Errorf("subject %v", cert.Subject)
	}
	if len(cert.URIs) != 1 || cert.URIs[0].String() != "vigil://agent/agent-7" {
		t.Errorf("URIs %v", cert.URIs)
	}
	if len(cert.DNSNames)+len(cert.EmailAddresses)+len(cert.IPAddresses) != 0 {
		t.Errorf("extra names: %v %v %v", cert.DNSNames, cert.EmailAddresses, cert.IPAddresses)
	}
	if cert.IsCA || !cert.BasicConstraintsValid {
		t.Errorf("IsCA %v, basic constraints %v", cert.IsCA, cert.BasicConstraintsValid)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %v, extended %v", cert.KeyUsage, cert.ExtKeyUsage)
	}
	for _, e := range cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 19}) && !bytes.Equal(e.Value, []byte{0x30, 0}) {
			t.Errorf("basic constraints copied from the request: %x", e.Value)
		}
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is not for the request's key")
	}
	if err := cert.CheckSignatureFrom(ca.Certificate()); err != nil {
		t.Error(err)
	}
	if id, err := AgentID(cert); err != nil || id != "agent-7" {
		t.Errorf("AgentID = %q, %v", id, err)
	}
	if serial != Serial(cert) || !notAfter.Equal(cert.NotAfter) {
		t.Errorf("returned serial %s, notAfter %v; certificate %s, %v", serial, notAfter, Serial(cert), cert.NotAfter)
	}
	if d := time.Until(cert.NotAfter); d < 59*time.Minute || d > time.Hour {
		t.Errorf("lifetime left %v, want about 1h", d)
	}
}

func TestSignAgentRejects(t *testing.T) {
	ca := newTestCA(t)
	_, csr, err := NewAgentKey()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		t.Fatal(err)
	}
	// Flip a bit of the signature, and separately a bit of the signed
	// subject: both parse, neither verifies.
	badSig := bytes.Clone(csr)
	badSig[len(badSig)-1] ^= 1
	badBody := bytes.Clone(csr)
	i := bytes.Index(badBody, []byte("vigil-agent"))
	badBody[i] = 'V'
	if _, err := x509.ParseCertificateRequest(badSig); err != nil {
		t.Fatalf("tampered request does not parse, test is moot: %v", err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	weak, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, p224)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ed, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, edKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		csr     []byte
		id      string
		ttl     time.Duration
		wantErr error
	}{
		{name: "tampered signature", csr: badSig, id: "a", ttl: time.Hour, wantErr: ErrBadCSR},
		{name: "tampered subject", csr: badBody, id: "a", ttl: time.Hour, wantErr: ErrBadCSR},
		{name: "empty", csr: nil, id: "a", ttl: time.Hour, wantErr: ErrBadCSR},
		{name: "garbage", csr: []byte("hello"), id: "a", ttl: time.Hour, wantErr: ErrBadCSR},
		{name: "trailing data", csr: append(bytes.Clone(csr), 0), id: "a", ttl: time.Hour, wantErr: ErrBadCSR},
		{name: "oversized", csr: make([]byte, maxCSRBytes+1), id: "a", ttl: time.Hour, wantErr: ErrBadCSR},
		{name: "P-224 key", csr: weak, id: "a", ttl: time.Hour, wantErr: ErrBadCSR},
		{name: "bad agent ID", csr: csr, id: "../x", ttl: time.Hour, wantErr: ErrBadAgentID},
		{name: "empty agent ID", csr: csr, id: "", ttl: time.Hour, wantErr: ErrBadAgentID},
		{name: "no lifetime", csr: csr, id: "a", ttl: 0},
		{name: "negative lifetime", csr: csr, id: "a", ttl: -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, _, _, err := ca.SignAgent(tt.csr, tt.id, tt.ttl)
			if err == nil {
				t.Fatalf("SignAgent issued a certificate (%d bytes)", len(der))
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// The untampered requests are fine, Ed25519 included.
	for _, ok := range [][]byte{csr, ed, parsed.Raw} {
		if _, _, _, err := ca.SignAgent(ok, "a", time.Hour); err != nil {
			t.Errorf("SignAgent of a good request: %v", err)
		}
	}
}

func TestSignAgentSerials(t *testing.T) {
	ca := newTestCA(t)
	_, csr, err := NewAgentKey()
	if err != nil {
		t.Fatal(err)
	}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 50 {
		der, serial, _, err := ca.SignAgent(csr, "agent-1", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		if !hex32.MatchString(serial) || cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 {
			t.Errorf("serial %s (%d bits)", serial, cert.SerialNumber.BitLen())
		}
		if seen[serial] {
			t.Errorf("serial %s issued twice", serial)
		}
		seen[serial] = true
	}
}

func TestSignAgentStopsAtCAExpiry(t *testing.T) {
	ca := newTestCA(t)
	_, csr, _ := NewAgentKey()
	_, _, notAfter, err := ca.SignAgent(csr, "agent-1", 100*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !notAfter.Equal(ca.Certificate().NotAfter) {
		t.Errorf("notAfter %v, want the CA's %v", notAfter, ca.Certificate().NotAfter)
	}
}
