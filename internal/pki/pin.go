package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
)

// VerifyPinned accepts a server chain (as tls.Config.VerifyPeerCertificate
// gets it) whose CA has the pinned fingerprint (bare lowercase hex SHA-256)
// and whose leaf that CA signed: how an agent trusts the server before it
// has the CA certificate.
func VerifyPinned(raw [][]byte, pin string) error {
	if len(raw) == 0 {
		return errors.New("server sent no certificate")
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return err
	}
	for _, r := range raw[1:] {
		sum := sha256.Sum256(r)
		if hex.EncodeToString(sum[:]) != pin {
			continue
		}
		ca, err := x509.ParseCertificate(r)
		if err != nil {
			return err
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca)
		_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		return err
	}
	return errors.New("server certificate is not issued by the pinned CA")
}
