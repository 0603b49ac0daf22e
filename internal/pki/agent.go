package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"path/filepath"
)

// NewAgentKey makes an agent's ECDSA P-256 key and a certificate signing
// request for it, in DER, to send to the server at enrollment or renewal.
// The request names no identity: the server decides it (CA.SignAgent).
func NewAgentKey() (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("agent key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "vigil-agent"},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("agent key: %w", err)
	}
	return key, csr, nil
}

// SaveIdentity writes an agent's certificate and key to path as one PEM
// file (certificate, then PKCS #8 key) with mode 0600, replacing it
// atomically: after a crash during renewal the file holds the old pair or
// the new one, never a key with another key's certificate.
func SaveIdentity(path string, key crypto.Signer, certDER []byte) error {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	if err := matchKey(cert, key); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	data := append(EncodeCertPEM(certDER), keyPEM...)
	if err := writeFile(filepath.Clean(path), data, 0o600); err != nil {
		return fmt.Errorf("save identity: %w", err)
	}
	return nil
}

// LoadIdentity reads a file written by SaveIdentity and checks that the key
// matches the certificate. A missing file gives an error wrapping
// fs.ErrNotExist: the agent has not enrolled.
func LoadIdentity(path string) (crypto.Signer, []byte, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load identity: %w", err)
	}
	cert, err := DecodeCertPEM(data)
	if err != nil {
		return nil, nil, fmt.Errorf("load identity %s: %w", path, err)
	}
	// The key is the block after the certificate.
	_, rest := pem.Decode(bytes.TrimSpace(data))
	key, err := DecodeKeyPEM(rest)
	if err != nil {
		return nil, nil, fmt.Errorf("load identity %s: %w", path, err)
	}
	if err := matchKey(cert, key); err != nil {
		return nil, nil, fmt.Errorf("load identity %s: %w", path, err)
	}
	return key, cert.Raw, nil
}
