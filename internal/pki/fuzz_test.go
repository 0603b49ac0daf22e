package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bytes to every PEM decoder and to the CSR
// parser: none may panic, and whatever decodes must be usable.
func FuzzDecode(f *testing.F) {
	ca := newTestCA(f)
	keyPEM, _ := EncodeKeyPEM(ca.key)
	_, csr, _ := NewAgentKey()
	f.Add(ca.CertPEM())
	f.Add(keyPEM)
	f.Add(EncodeCSRPEM(csr))
	f.Add(append(ca.CertPEM(), keyPEM...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := DecodeCertPEM(data); err == nil {
			AgentID(c)
			NeedsRenewal(c, time.Now(), DefaultRenewFraction)
			_ = Serial(c)
		}
		if k, err := DecodeKeyPEM(data); err == nil && k.Public() == nil {
			t.Error("decoded key without a public key")
		}
		if der, err := DecodeCSRPEM(data); err == nil {
			if r, err := ParseCSR(der); err == nil {
				if err := r.CheckSignature(); err != nil {
					t.Errorf("ParseCSR accepted a request whose signature fails: %v", err)
				}
			}
		}
		ParseCSR(data)
	})
}

// FuzzSignAgent signs arbitrary requests: invalid ones are refused, and any
// certificate issued names only the server's agent ID.
func FuzzSignAgent(f *testing.F) {
	ca := newTestCA(f)
	_, csr, _ := NewAgentKey()
	f.Add(csr)
	bad := bytes.Clone(csr)
	bad[len(bad)-2] ^= 0x40
	f.Add(bad)
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	claims, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "admin"},
		DNSNames: []string{"server"},
		URIs:     []*url.URL{AgentURI("other-agent")},
	}, key)
	f.Add(claims)
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		der, serial, _, err := ca.SignAgent(data, "agent-1", time.Hour)
		if err != nil {
			return
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := AgentID(cert); err != nil || id != "agent-1" || cert.Subject.CommonName != "agent-1" {
			t.Errorf("issued certificate names %q (%v), CN %q", id, err, cert.Subject.CommonName)
		}
		if len(cert.URIs) != 1 || len(cert.DNSNames)+len(cert.IPAddresses)+len(cert.EmailAddresses) != 0 || cert.IsCA {
			t.Errorf("issued certificate has extra names or powers: %v %v %v %v CA %v", cert.URIs, cert.DNSNames, cert.IPAddresses, cert.EmailAddresses, cert.IsCA)
		}
		if serial != Serial(cert) {
			t.Errorf("serial %s, certificate %s", serial, Serial(cert))
		}
	})
}
