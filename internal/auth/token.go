package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Kind is the kind of a bearer token, the middle part of its text.
type Kind string

// The token kinds.
const (
	KindAPI     Kind = "api" // an API token a user created
	KindSession Kind = "ses" // a login session
	KindEnroll  Kind = "enr" // an agent enrollment token
)

// Token text: "vgl_" + kind + "_" + 32 random bytes in unpadded base64url.
const (
	tokenPrefix    = "vgl_"
	tokenSecretLen = 32
	// TokenLen is the length of every well-formed token.
	TokenLen = len(tokenPrefix) + 3 + 1 + 43
)

// ErrMalformedToken is returned by ParseToken for text that is not a
// well-formed token.
var ErrMalformedToken = errors.New("auth: malformed token")

func (k Kind) valid() bool {
	return k == KindAPI || k == KindSession || k == KindEnroll
}

// NewToken returns a fresh random token of kind k. It panics for a kind
// other than the constants, a programming error.
func NewToken(k Kind) string {
	if !k.valid() {
		panic(fmt.Sprintf("auth.NewToken: unknown kind %q", k))
	}
	return tokenPrefix + string(k) + "_" + base64.RawURLEncoding.EncodeToString(randomBytes(tokenSecretLen))
}

// ParseToken checks that s is a well-formed token and returns its kind.
// It looks nothing up: callers reject malformed text before touching the
// store.
func ParseToken(s string) (Kind, error) {
	if len(s) != TokenLen || !strings.HasPrefix(s, tokenPrefix) {
		return "", ErrMalformedToken
	}
	rest := s[len(tokenPrefix):]
	k := Kind(rest[:3])
	if !k.valid() || rest[3] != '_' {
		return "", ErrMalformedToken
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(rest[4:])
	if err != nil || len(secret) != tokenSecretLen {
		return "", ErrMalformedToken
	}
	return k, nil
}

// Hash returns the SHA-256 of a token's text: the only form the store
// keeps.
func Hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}
