package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password policy bounds.
const (
	// MinPasswordLen is the fewest characters (runes) a password may have.
	MinPasswordLen = 12
	// MaxPasswordLen bounds a password's bytes so hashing cost stays flat.
	MaxPasswordLen = 1024
)

// ErrPasswordPolicy is returned for a password the policy refuses.
var ErrPasswordPolicy = errors.New("auth: password does not meet the policy")

// ErrHashFormat is returned for an encoded hash that is not a valid
// argon2id PHC string within the accepted parameter bounds.
var ErrHashFormat = errors.New("auth: malformed password hash")

// CheckPassword applies the password policy: at least MinPasswordLen
// characters, at most MaxPasswordLen bytes, valid UTF-8 and not all the
// same character.
func CheckPassword(password string) error {
	switch n := utf8.RuneCountInString(password); {
	case !utf8.ValidString(password):
		return fmt.Errorf("%w: not valid UTF-8", ErrPasswordPolicy)
	case n < MinPasswordLen:
		return fmt.Errorf("%w: at least %d characters", ErrPasswordPolicy, MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return fmt.Errorf("%w: at most %d bytes", ErrPasswordPolicy, MaxPasswordLen)
	}
	first, _ := utf8.DecodeRuneInString(password)
	if strings.Trim(password, string(first)) == "" {
		return fmt.Errorf("%w: a single repeated character", ErrPasswordPolicy)
	}
	return nil
}

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams follow RFC 9106's second recommended option (64 MiB, three
// passes) with the parallelism of a small server.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// TestParams are cheap parameters for tests; never use them in production.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read from an encoded hash, so a corrupt or hostile
// row cannot make one verification take gigabytes or minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 64
	maxSaltLen = 64
	maxKeyLen  = 64
	minKeyLen  = 16
	minSaltLen = 8
)

func (p Params) check() error {
	switch {
	case p.Memory < 8*uint32(max(p.Threads, 1)) || p.Memory > maxMemory:
		return fmt.Errorf("%w: memory %d KiB", ErrHashFormat, p.Memory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time %d", ErrHashFormat, p.Time)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads %d", ErrHashFormat, p.Threads)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d", ErrHashFormat, p.SaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d", ErrHashFormat, p.KeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with argon2id, running at most a
// few hashes at once so concurrent logins cannot exhaust memory.
type Hasher struct {
	params Params
	slots  chan struct{}
	// dummy is a hash of a random password, verified against when a user
	// is unknown so that the answer takes as long as for a known user.
	dummy string
}

// HasherOptions configure NewHasher; the zero value is valid.
type HasherOptions struct {
	// Params for new hashes; nil means DefaultParams.
	Params *Params
	// Concurrency bounds simultaneous hash computations; 0 means 4.
	Concurrency int
}

// NewHasher returns a Hasher. It panics on parameters outside the bounds
// Verify accepts, which is a programming error.
func NewHasher(o *HasherOptions) *Hasher {
	var opts HasherOptions
	if o != nil {
		opts = *o
	}
	p := DefaultParams
	if opts.Params != nil {
		p = *opts.Params
	}
	if err := p.check(); err != nil {
		panic(fmt.Sprintf("auth.NewHasher: %v", err))
	}
	n := opts.Concurrency
	if n <= 0 {
		n = 4
	}
	h := &Hasher{params: p, slots: make(chan struct{}, n)}
	h.dummy = encode(p, randomBytes(int(p.SaltLen)), randomBytes(int(p.KeyLen)))
	return h
}

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-encoded argon2id hash of password with a fresh
// random salt: $argon2id$v=19$m=…,t=…,p=…$<salt>$<key> (unpadded standard
// base64). It does not apply the policy; call CheckPassword first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordLen {
		return "", fmt.Errorf("%w: at most %d bytes", ErrPasswordPolicy, MaxPasswordLen)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	salt := randomBytes(int(p.SaltLen))
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encode(p, salt, key), nil
}

// Verify reports whether password matches the encoded hash, comparing in
// constant time. An empty encoded hash (an unknown user) is verified
// against a dummy hash, so it costs the same and returns false. A hash
// that cannot be decoded is an error wrapping ErrHashFormat.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	dummy := encoded == ""
	if dummy {
		encoded = h.dummy
	}
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	ok := subtle.ConstantTimeCompare(got, want) == 1
	return ok && !dummy, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// the Hasher's (or cannot be read), so a successful login should store a
// fresh hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p != h.params
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC argon2id string and checks its parameters.
func decode(s string) (p Params, salt, key []byte, err error) {
	if len(s) > 512 {
		return p, nil, nil, fmt.Errorf("%w: too long", ErrHashFormat)
	}
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not an argon2id PHC string", ErrHashFormat)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q", ErrHashFormat, parts[2])
	}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrHashFormat, parts[3])
		}
		seen[k] = true
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return p, nil, nil, fmt.Errorf("%w: parameter %s", ErrHashFormat, k)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, fmt.Errorf("%w: parallelism %d", ErrHashFormat, n)
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, fmt.Errorf("%w: parameter %s", ErrHashFormat, k)
		}
	}
	if len(seen) != 3 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrHashFormat, parts[3])
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrHashFormat)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return p, nil, nil, fmt.Errorf("%w: key", ErrHashFormat)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.check(); err != nil {
		return p, nil, nil, err
	}
	return p, salt, key, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (Go 1.24+)
	return b
}
