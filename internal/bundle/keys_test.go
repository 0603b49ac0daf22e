package bundle

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestKeys(t *testing.T) {
	pub, priv := testKey(t, 3)
	dir := filepath.Join(t.TempDir(), "keys")
	if err := WriteKeys(dir, pub, priv); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{PrivateKeyFile: 0o600, PublicKeyFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only take permissions away.
		if got := fi.Mode().Perm(); got&^want != 0 || name == PrivateKeyFile && got != 0o600 {
			t.Errorf("%s mode %v, want %v", name, got, want)
		}
	}
	gotPub, err := ReadPublicKey(filepath.Join(dir, PublicKeyFile))
	if err != nil || !gotPub.Equal(pub) {
		t.Fatalf("ReadPublicKey = %x, %v; want %x", gotPub, err, pub)
	}
	gotPriv, err := ReadPrivateKey(filepath.Join(dir, PrivateKeyFile))
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("ReadPrivateKey: %v (equal %v)", err, gotPriv.Equal(priv))
	}
	if err := WriteKeys(dir, pub, priv); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteKeys over existing keys = %v, want fs.ErrExist", err)
	}
	otherPub, _ := testKey(t, 4)
	if err := WriteKeys(t.TempDir(), otherPub, priv); !errors.Is(err, ErrKey) {
		t.Errorf("WriteKeys of a mismatched pair = %v, want ErrKey", err)
	}
	if got, want := KeyID(pub), KeyID(gotPub); got != want || len(got) != 16 {
		t.Errorf("KeyID %q, %q: want 16 hex digits, stable", got, want)
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ec)
	bad := t.TempDir()
	files := map[string][]byte{
		"ec.pub":    pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPub}),
		"ec.key":    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPriv}),
		"garbage":   []byte("ssh-ed25519 AAAA..."),
		"bad der":   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}),
		"encrypted": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: ecPriv}),
		"huge":      bytes.Repeat([]byte("A"), maxKeyFileBytes+1),
	}
	for name, b := range files {
		writeFile(t, filepath.Join(bad, name), b)
	}
	for _, name := range []string{"ec.pub", "garbage", "bad der", "huge"} {
		if _, err := ReadPublicKey(filepath.Join(bad, name)); !errors.Is(err, ErrKey) {
			t.Errorf("ReadPublicKey(%s) = %v, want ErrKey", name, err)
		}
	}
	for _, name := range []string{"ec.key", "garbage", "encrypted"} {
		if _, err := ReadPrivateKey(filepath.Join(bad, name)); !errors.Is(err, ErrKey) {
			t.Errorf("ReadPrivateKey(%s) = %v, want ErrKey", name, err)
		}
	}
	if _, err := ReadPublicKey(filepath.Join(dir, PrivateKeyFile)); !errors.Is(err, ErrKey) {
		t.Errorf("ReadPublicKey of the private key file = %v, want ErrKey", err)
	}
	if _, err := ReadPublicKey(filepath.Join(bad, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadPublicKey of a missing file = %v, want fs.ErrNotExist", err)
	}
}

// TestOpenSSL checks the documented interoperability: keys made by openssl
// are read, and openssl verifies a bundle's manifest.sig with bundle.pub.
func TestOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("skipping: no openssl binary to check interoperability with")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	key := filepath.Join(dir, "openssl.key")
	run("genpkey", "-algorithm", "ed25519", "-out", key)
	run("pkey", "-in", key, "-pubout", "-out", filepath.Join(dir, "openssl.pub"))
	priv, err := ReadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ReadPublicKey(filepath.Join(dir, "openssl.pub"))
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("openssl public key: %v", err)
	}

	kdir := filepath.Join(dir, "vigil")
	pub, priv = testKey(t, 5)
	if err := WriteKeys(kdir, pub, priv); err != nil {
		t.Fatal(err)
	}
	ms := unpack(t, export(t, []byte("db"), priv, Manifest{BuiltAt: builtAt}))
	writeFile(t, filepath.Join(dir, ManifestName), ms[0].data)
	writeFile(t, filepath.Join(dir, SignatureName), ms[1].data)
	run("pkeyutl", "-verify", "-pubin", "-inkey", filepath.Join(kdir, PublicKeyFile), "-rawin",
		"-in", filepath.Join(dir, ManifestName), "-sigfile", filepath.Join(dir, SignatureName))
}
