package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoadOrCreateCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Certificate()
	if !c.IsCA || c.PublicKeyAlgorithm != x509.ECDSA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA certificate: IsCA %v, key %v, usage %v", c.IsCA, c.PublicKeyAlgorithm, c.KeyUsage)
	}
	if k, ok := ca.key.(*ecdsa.PrivateKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("CA key %T, want ECDSA P-256", ca.key)
	}
	for name, want := range map[string]os.FileMode{".": 0o700, CAKeyFile: 0o600, CACertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", name, got, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("CA directory holds %d entries, want 2 (temporary files left?)", len(entries))
	}

	again, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Certificate().Raw, c.Raw) || !again.key.(*ecdsa.PrivateKey).Equal(ca.key) {
		t.Error("reloading made a different CA")
	}
	if Fingerprint(again.Certificate()) != Fingerprint(c) || !strings.HasPrefix(Fingerprint(c), "sha256:") {
		t.Errorf("fingerprints %s, %s", Fingerprint(again.Certificate()), Fingerprint(c))
	}

	// A certificate issued by the first instance verifies with the second.
	a := enroll(t, ca, "agent-1", time.Hour)
	if id, err := again.VerifyAgent([][]byte{a.certDER}, nil); err != nil || id != "agent-1" {
		t.Errorf("VerifyAgent after reload = %q, %v", id, err)
	}
}

// TestLoadOrCreateCAKeyOnly covers a crash between writing the key and the
// certificate: the key is kept and gets a certificate.
func TestLoadOrCreateCAKeyOnly(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, CACertFile)); err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.key.(*ecdsa.PrivateKey).Equal(ca.key) {
		t.Error("the existing key was replaced")
	}
	if err := again.Certificate().CheckSignatureFrom(again.Certificate()); err != nil {
		t.Error(err)
	}
}

func TestLoadOrCreateCACorrupt(t *testing.T) {
	good := t.TempDir()
	ca, err := LoadOrCreateCA(good)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(good, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	certPEM := ca.CertPEM()
	other := newTestCA(t)
	server, err := ca.IssueServer([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	serverKeyPEM, err := EncodeKeyPEM(server.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(certPEM)
	flipped[len(flipped)/2] ^= 'A' ^ 'B' // still base64 text, different DER
	if bytes.Equal(flipped, certPEM) {
		flipped[len(flipped)/2] ^= 1
	}

	tests := []struct {
		name      string
		key, cert []byte // nil: file absent
		wantFile  string // named in the error
	}{
		{name: "key not PEM", key: []byte("garbage"), cert: certPEM, wantFile: CAKeyFile},
		{name: "key empty", key: []byte{}, cert: certPEM, wantFile: CAKeyFile},
		{name: "key is a certificate", key: certPEM, cert: certPEM, wantFile: CAKeyFile},
		{name: "cert not PEM", key: keyPEM, cert: []byte("garbage"), wantFile: CACertFile},
		{name: "cert truncated", key: keyPEM, cert: certPEM[:len(certPEM)/2], wantFile: CACertFile},
		{name: "cert bytes changed", key: keyPEM, cert: flipped, wantFile: CACertFile},
		{name: "cert of another CA", key: keyPEM, cert: other.CertPEM(), wantFile: CAKeyFile},
		{name: "cert not a CA", key: serverKeyPEM, cert: EncodeCertPEM(server.Certificate[0]), wantFile: CACertFile},
		{name: "cert without key", cert: certPEM, wantFile: CAKeyFile},
		{name: "key without cert, key corrupt", key: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), wantFile: CAKeyFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.key != nil {
				os.WriteFile(filepath.Join(dir, CAKeyFile), tt.key, 0o600)
			}
			if tt.cert != nil {
				os.WriteFile(filepath.Join(dir, CACertFile), tt.cert, 0o644)
			}
			_, err := LoadOrCreateCA(dir)
			if !errors.Is(err, ErrCorruptCA) {
				t.Fatalf("LoadOrCreateCA error = %v, want ErrCorruptCA", err)
			}
			if !strings.Contains(err.Error(), tt.wantFile) {
				t.Errorf("error %q does not name %s", err, tt.wantFile)
			}
			// Nothing was repaired or replaced.
			if got, _ := os.ReadFile(filepath.Join(dir, CACertFile)); tt.cert != nil && !bytes.Equal(got, tt.cert) {
				t.Error("the certificate file was changed")
			}
		})
	}

	t.Run("oversized", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600)
		os.WriteFile(filepath.Join(dir, CACertFile), bytes.Repeat([]byte("A"), maxFileBytes+1), 0o644)
		if _, err := LoadOrCreateCA(dir); err == nil {
			t.Error("LoadOrCreateCA accepted a huge certificate file")
		}
	})
	t.Run("unreadable directory entry", func(t *testing.T) {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, CAKeyFile), 0o700) // a directory where the key should be
		if _, err := LoadOrCreateCA(dir); err == nil {
			t.Error("LoadOrCreateCA succeeded")
		}
	})
}

func TestLoadOrCreateCAExpired(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "old Vigil CA"},
		NotBefore:             time.Now().Add(-48 * time.Hour),
		NotAfter:              time.Now().Add(-24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := EncodeKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, CAKeyFile), keyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, CACertFile), EncodeCertPEM(der), 0o644)
	if _, err := LoadOrCreateCA(dir); !errors.Is(err, ErrCAExpired) {
		t.Errorf("LoadOrCreateCA error = %v, want ErrCAExpired", err)
	}
}

func TestIssueServer(t *testing.T) {
	ca := newTestCA(t)
	cert, err := ca.IssueServer([]string{"vigil.example.com", "127.0.0.1", "[::1]", "::2"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	if len(leaf.DNSNames) != 1 || len(leaf.IPAddresses) != 3 {
		t.Errorf("DNS names %v, IPs %v", leaf.DNSNames, leaf.IPAddresses)
	}
	for _, host := range []string{"vigil.example.com", "127.0.0.1", "::1", "::2"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.pool}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the server certificate is valid for client authentication")
	}
	for _, bad := range [][]string{nil, {""}, {"a b"}, {"fe80::1%eth0"}, {"http://x"}} {
		if _, err := ca.IssueServer(bad, time.Hour); err == nil {
			t.Errorf("IssueServer(%q) succeeded", bad)
		}
	}
	if _, err := ca.IssueServer([]string{"localhost"}, 0); err == nil {
		t.Error("IssueServer with no lifetime succeeded")
	}
}

// TestLoadOrCreateCAConcurrent starts several servers on one empty
// directory at once: they all end up with the same CA.
func TestLoadOrCreateCAConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	cas := make([]*CA, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { cas[i], errs[i] = LoadOrCreateCA(dir) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if !bytes.Equal(cas[i].Certificate().Raw, cas[0].Certificate().Raw) {
			t.Errorf("instance %d has another CA certificate", i)
		}
	}
	final, err := LoadOrCreateCA(dir)
	if err != nil || !bytes.Equal(final.Certificate().Raw, cas[0].Certificate().Raw) {
		t.Errorf("reload: %v, or the files differ from what the instances use", err)
	}
}

func TestLoadOrCreateCADanglingLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, CAKeyFile)); err != nil {
		t.Skipf("skipping: no symlinks: %v", err)
	}
	if _, err := LoadOrCreateCA(dir); err == nil {
		t.Error("LoadOrCreateCA succeeded with a dangling key link")
	}
}
