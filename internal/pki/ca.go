package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Files of a CA directory.
const (
	CAKeyFile  = "ca.key" // PKCS #8 PEM, mode 0600
	CACertFile = "ca.crt" // PEM, mode 0644
)

const (
	caLifetime = 10 * 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so that peers whose clocks are a little
	// behind accept a certificate issued just now.
	clockSkew = 5 * time.Minute
)

// CA is the Vigil certificate authority: the key that signs server and agent
// certificates and its self-signed certificate. Its methods are safe for
// concurrent use.
type CA struct {
	key  crypto.Signer
	cert *x509.Certificate
	pool *x509.CertPool
	now  func() time.Time // time.Now; tests move it
}

// LoadOrCreateCA loads the CA kept in dir (CAKeyFile, CACertFile), or
// creates one there: an ECDSA P-256 key and a self-signed certificate valid
// for ten years, each written atomically, the key with mode 0600 and the
// directory created with mode 0700.
//
// A key without a certificate (a crash between the two writes) gets a new
// self-signed certificate. Files are created with a hard link, never
// replaced, so servers starting together on a shared directory end up with
// the same CA. Files that do not parse, that do not match, or a
// certificate that is not a CA, give an error wrapping ErrCorruptCA; an
// expired certificate gives ErrCAExpired. Neither is repaired: agents trust
// the CA certificate, so replacing it is the operator's decision.
func LoadOrCreateCA(dir string) (*CA, error) {
	for range 3 {
		ca, err := loadOrCreateCA(dir)
		if !errors.Is(err, errRaced) {
			return ca, err
		}
		// Another process created a file first: load it.
	}
	return nil, fmt.Errorf("create CA in %s: CA files keep appearing while they are written (dangling links?)", dir)
}

// errRaced reports that another process created a CA file first.
var errRaced = errors.New("CA file created concurrently")

func loadOrCreateCA(dir string) (*CA, error) {
	keyPath, certPath := filepath.Join(dir, CAKeyFile), filepath.Join(dir, CACertFile)
	keyPEM, kerr := readFile(keyPath)
	certPEM, cerr := readFile(certPath)
	switch {
	case kerr == nil && cerr == nil:
		ca, err := parseCA(keyPEM, certPEM, time.Now())
		if err != nil {
			return nil, fmt.Errorf("load CA from %s: %w", dir, err)
		}
		return ca, nil
	case kerr == nil && errors.Is(cerr, fs.ErrNotExist):
		key, err := DecodeKeyPEM(keyPEM)
		if err != nil {
			return nil, fmt.Errorf("load CA from %s: %s: %w: %w", dir, CAKeyFile, ErrCorruptCA, err)
		}
		return createCA(dir, key, false)
	case errors.Is(kerr, fs.ErrNotExist) && cerr == nil:
		return nil, fmt.Errorf("load CA from %s: %w: %s exists but %s does not", dir, ErrCorruptCA, CACertFile, CAKeyFile)
	case errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create CA: %w", err)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("create CA: %w", err)
		}
		return createCA(dir, key, true)
	case kerr != nil:
		return nil, fmt.Errorf("load CA: %w", kerr)
	default:
		return nil, fmt.Errorf("load CA: %w", cerr)
	}
}

// createCA self-signs a certificate for key and writes the files: the key
// first (when writeKey), then the certificate, so that a crash never leaves
// a certificate without its key.
func createCA(dir string, key crypto.Signer, writeKey bool) (*CA, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"Vigil"},
			// A per-installation name keeps two Vigil CAs apart in
			// error messages and trust stores.
			CommonName: "Vigil CA " + fmt.Sprintf("%032x", serial)[:8],
		},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	if writeKey {
		keyPEM, err := EncodeKeyPEM(key)
		if err != nil {
			return nil, fmt.Errorf("create CA: %w", err)
		}
		if err := createFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600); err != nil {
			return nil, createErr("key", err)
		}
	}
	if err := createFile(filepath.Join(dir, CACertFile), EncodeCertPEM(der), 0o644); err != nil {
		return nil, createErr("certificate", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA: %w", err)
	}
	return newCA(key, cert), nil
}

func createErr(what string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return errRaced
	}
	return fmt.Errorf("create CA: write %s: %w", what, err)
}

// parseCA checks a stored key and certificate: both parse, the certificate
// is a current self-signed CA certificate and the key is its key.
func parseCA(keyPEM, certPEM []byte, now time.Time) (*CA, error) {
	key, err := DecodeKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", CAKeyFile, ErrCorruptCA, err)
	}
	cert, err := DecodeCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", CACertFile, ErrCorruptCA, err)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%s: %w: not a CA certificate", CACertFile, ErrCorruptCA)
	}
	if err := matchKey(cert, key); err != nil {
		return nil, fmt.Errorf("%w: %s is not the key of %s", ErrCorruptCA, CAKeyFile, CACertFile)
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		return nil, fmt.Errorf("%s: %w: not self-signed: %w", CACertFile, ErrCorruptCA, err)
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("%s: %w at %s", CACertFile, ErrCAExpired, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return newCA(key, cert), nil
}

func newCA(key crypto.Signer, cert *x509.Certificate) *CA {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{key: key, cert: cert, pool: pool, now: time.Now}
}

// Certificate returns the CA certificate. Callers must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate as PEM, what agents pin (ClientTLS).
func (ca *CA) CertPEM() []byte { return EncodeCertPEM(ca.cert.Raw) }

// Fingerprint returns "sha256:" and the hex SHA-256 of a certificate's DER:
// what an operator compares to check the CA certificate an agent is given
// at enrollment.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}
