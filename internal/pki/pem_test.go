package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestKeyPEM(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []crypto.Signer{ec, ed, rs} {
		data, err := EncodeKeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeKeyPEM(data)
		if err != nil {
			t.Fatalf("%T: %v", key, err)
		}
		if !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(key) {
			t.Errorf("%T: round trip changed the key", key)
		}
	}
	// SEC 1 keys, as openssl ecparam writes them, are accepted.
	sec1, _ := x509.MarshalECPrivateKey(ec)
	got, err := DecodeKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	if err != nil || !got.(*ecdsa.PrivateKey).Equal(ec) {
		t.Errorf("SEC 1 key: %v", err)
	}
}

func TestDecodePEMErrors(t *testing.T) {
	ca := newTestCA(t)
	keyPEM, _ := EncodeKeyPEM(ca.key)
	tests := []struct {
		name   string
		decode func([]byte) error
		data   []byte
	}{
		{"cert: empty", decodeCert, nil},
		{"cert: text", decodeCert, []byte("hello")},
		{"cert: a key", decodeCert, keyPEM},
		{"cert: bad DER", decodeCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1}})},
		{"cert: huge", decodeCert, bytes.Repeat([]byte{'x'}, maxPEMLen+1)},
		{"key: a certificate", decodeKey, ca.CertPEM()},
		{"key: bad DER", decodeKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}})},
		{"key: bad SEC 1", decodeKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1, 2}})},
		{"key: RSA PKCS 1 block", decodeKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2}})},
		{"csr: a certificate", decodeCSR, ca.CertPEM()},
	}
	for _, tt := range tests {
		if err := tt.decode(tt.data); !errors.Is(err, ErrBadPEM) {
			t.Errorf("%s: error %v, want ErrBadPEM", tt.name, err)
		}
	}
	if c, err := DecodeCertPEM(ca.CertPEM()); err != nil || !bytes.Equal(c.Raw, ca.Certificate().Raw) {
		t.Errorf("certificate round trip: %v", err)
	}
	_, csr, _ := NewAgentKey()
	if der, err := DecodeCSRPEM(EncodeCSRPEM(csr)); err != nil || !bytes.Equal(der, csr) {
		t.Errorf("CSR round trip: %v", err)
	}
}

func decodeCert(b []byte) error { _, err := DecodeCertPEM(b); return err }
func decodeKey(b []byte) error  { _, err := DecodeKeyPEM(b); return err }
func decodeCSR(b []byte) error  { _, err := DecodeCSRPEM(b); return err }

func TestIdentityFile(t *testing.T) {
	ca := newTestCA(t)
	a := enroll(t, ca, "agent-1", time.Hour)
	b := enroll(t, ca, "agent-2", time.Hour)
	path := filepath.Join(t.TempDir(), "identity.pem")

	if _, _, err := LoadIdentity(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadIdentity of a missing file = %v, want fs.ErrNotExist", err)
	}
	if err := SaveIdentity(path, b.key, a.certDER); err == nil {
		t.Error("SaveIdentity accepted a key that does not match the certificate")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a refused identity was written")
	}
	for _, ag := range []agent{a, b} { // save, then replace (renewal)
		if err := SaveIdentity(path, ag.key, ag.certDER); err != nil {
			t.Fatal(err)
		}
		key, der, err := LoadIdentity(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(der, ag.certDER) || !key.(*ecdsa.PrivateKey).Equal(ag.key) {
			t.Error("identity round trip changed it")
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("identity file mode %o, want 600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files in the state directory, want 1", len(entries))
	}

	// A file whose key does not belong to its certificate is refused.
	bKey, _ := EncodeKeyPEM(b.key)
	mixed := append(EncodeCertPEM(a.certDER), bKey...)
	os.WriteFile(path, mixed, 0o600)
	if _, _, err := LoadIdentity(path); err == nil {
		t.Error("LoadIdentity accepted a mismatched pair")
	}
	os.WriteFile(path, EncodeCertPEM(a.certDER), 0o600)
	if _, _, err := LoadIdentity(path); !errors.Is(err, ErrBadPEM) {
		t.Errorf("LoadIdentity without a key = %v, want ErrBadPEM", err)
	}
}
