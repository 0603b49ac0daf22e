package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// PEM block types written and accepted.
const (
	pemCert   = "CERTIFICATE"
	pemKey    = "PRIVATE KEY"    // PKCS #8, written
	pemECKey  = "EC PRIVATE KEY" // SEC 1, accepted
	pemCSR    = "CERTIFICATE REQUEST"
	maxPEMLen = maxFileBytes
)

// EncodeCertPEM returns a DER certificate as a PEM CERTIFICATE block.
func EncodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: der})
}

// DecodeCertPEM parses the first PEM block of data, which must be a
// CERTIFICATE.
func DecodeCertPEM(data []byte) (*x509.Certificate, error) {
	b, err := firstBlock(data, pemCert)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPEM, err)
	}
	return c, nil
}

// EncodeKeyPEM returns key as a PKCS #8 PRIVATE KEY block. Callers store it
// with mode 0600.
func EncodeKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemKey, Bytes: der}), nil
}

// DecodeKeyPEM parses the first PEM block of data, a PKCS #8 PRIVATE KEY or
// a SEC 1 EC PRIVATE KEY holding an ECDSA, Ed25519 or RSA key.
func DecodeKeyPEM(data []byte) (crypto.Signer, error) {
	b, err := firstBlock(data, pemKey, pemECKey)
	if err != nil {
		return nil, err
	}
	var k any
	if b.Type == pemECKey {
		k, err = x509.ParseECPrivateKey(b.Bytes)
	} else {
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPEM, err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%w: unsupported private key type %T", ErrBadPEM, k)
	}
}

// EncodeCSRPEM returns a DER certificate signing request as a PEM
// CERTIFICATE REQUEST block.
func EncodeCSRPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemCSR, Bytes: der})
}

// DecodeCSRPEM returns the DER bytes of the first PEM block of data, which
// must be a CERTIFICATE REQUEST. The request is checked by ParseCSR (and by
// CA.SignAgent), not here.
func DecodeCSRPEM(data []byte) ([]byte, error) {
	b, err := firstBlock(data, pemCSR)
	if err != nil {
		return nil, err
	}
	return b.Bytes, nil
}

// firstBlock returns the first PEM block of data, which must have one of the
// given types. Text before it is ignored, as pem.Decode does.
func firstBlock(data []byte, types ...string) (*pem.Block, error) {
	if len(data) > maxPEMLen {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadPEM, len(data), maxPEMLen)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrBadPEM)
	}
	for _, t := range types {
		if b.Type == t {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: PEM block %q, want %q", ErrBadPEM, b.Type, types[0])
}
