package bundle

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Key file names WriteKeys uses in its directory.
const (
	PublicKeyFile  = "bundle.pub"
	PrivateKeyFile = "bundle.key"
)

// maxKeyFileBytes bounds a key file read.
const maxKeyFileBytes = 64 << 10

// GenerateKey returns a new signing key pair drawn from rand (nil means
// crypto/rand).
func GenerateKey(rnd io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	pub, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	return pub, priv, nil
}

// KeyID names a public key in manifests: the first 8 bytes, in lowercase
// hex, of the SHA-256 of its 32 raw bytes. It selects a key; trust comes
// only from the signature verifying.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// WriteKeys writes pub to <dir>/bundle.pub (PEM "PUBLIC KEY", PKIX, mode
// 0644) and priv to <dir>/bundle.key (PEM "PRIVATE KEY", PKCS #8, mode
// 0600), the encodings `openssl genpkey -algorithm ed25519` and `openssl
// pkey -pubout` use. It creates dir (0700) if needed and never overwrites
// an existing key file.
func WriteKeys(dir string, pub ed25519.PublicKey, priv ed25519.PrivateKey) error {
	if len(pub) != ed25519.PublicKeySize || len(priv) != ed25519.PrivateKeySize || !pub.Equal(priv.Public()) {
		return fmt.Errorf("%w: public and private key do not form an ed25519 pair", ErrKey)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKey, err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKey, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	pubPath, privPath := filepath.Join(dir, PublicKeyFile), filepath.Join(dir, PrivateKeyFile)
	for _, p := range []string{pubPath, privPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("write keys: %s: %w", p, os.ErrExist)
		}
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		os.Remove(privPath)
		return err
	}
	return nil
}

// writeNew creates path (which must not exist) with data and perm.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return nil
}

// ReadPublicKey reads a PEM "PUBLIC KEY" (PKIX) ed25519 key, as WriteKeys
// and `openssl pkey -pubout` write it.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	der, err := readPEM(path, "PUBLIC KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKey, path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s: a %T, not an ed25519 key", ErrKey, path, k)
	}
	return pub, nil
}

// ReadPrivateKey reads a PEM "PRIVATE KEY" (PKCS #8) ed25519 key, as
// WriteKeys and `openssl genpkey -algorithm ed25519` write it. The file
// should be readable by its owner only; that is the caller's to enforce.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	der, err := readPEM(path, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKey, path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s: a %T, not an ed25519 key", ErrKey, path, k)
	}
	return priv, nil
}

// readPEM returns the bytes of the first PEM block of the given type in
// path.
func readPEM(path, typ string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFileBytes {
		return nil, fmt.Errorf("%w: %s: over %d bytes", ErrKey, path, maxKeyFileBytes)
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%w: %s: no PEM %q block", ErrKey, path, typ)
		}
		if blk.Type == typ {
			if len(blk.Headers) != 0 {
				return nil, fmt.Errorf("%w: %s: encrypted or annotated PEM is not supported", ErrKey, path)
			}
			return blk.Bytes, nil
		}
	}
}
