package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestNewTokenParses(t *testing.T) {
	for _, k := range []Kind{KindAPI, KindSession, KindEnroll} {
		tok := NewToken(k)
		if len(tok) != TokenLen || !strings.HasPrefix(tok, "vgl_"+string(k)+"_") {
			t.Errorf("NewToken(%s) = %q", k, tok)
		}
		got, err := ParseToken(tok)
		if err != nil || got != k {
			t.Errorf("ParseToken(NewToken(%s)) = %q, %v", k, got, err)
		}
		if NewToken(k) == tok {
			t.Errorf("two %s tokens are equal", k)
		}
	}
}

func TestParseTokenRejects(t *testing.T) {
	good := NewToken(KindAPI)
	secret := good[len("vgl_api_"):]
	for name, s := range map[string]string{
		"empty":          "",
		"no prefix":      "xyz_api_" + secret,
		"upper prefix":   "VGL_api_" + secret,
		"unknown kind":   "vgl_abc_" + secret,
		"no separator":   "vgl_api-" + secret,
		"short":          good[:len(good)-1],
		"long":           good + "A",
		"padding":        "vgl_api_" + secret[:42] + "=",
		"std alphabet":   "vgl_api_" + strings.Repeat("+", 43),
		"space":          "vgl_api_" + secret[:42] + " ",
		"non-canonical":  "vgl_api_" + strings.Repeat("A", 42) + "B", // low bits set
		"bearer prefix":  "Bearer " + good[:len(good)-7],
		"unicode":        "vgl_api_" + secret[:41] + "é",
		"nul":            "vgl_api_" + secret[:42] + "\x00",
		"enr with ses":   "vgl_en_" + secret + "A",
		"kind uppercase": "vgl_API_" + secret,
	} {
		t.Run(name, func(t *testing.T) {
			if k, err := ParseToken(s); !errors.Is(err, ErrMalformedToken) {
				t.Errorf("ParseToken(%q) = %q, %v; want ErrMalformedToken", s, k, err)
			}
		})
	}
}

func TestHash(t *testing.T) {
	a, b := NewToken(KindAPI), NewToken(KindAPI)
	if h := Hash(a); len(h) != 32 || string(h) != string(Hash(a)) {
		t.Errorf("Hash is not a stable SHA-256: %x", h)
	}
	if string(Hash(a)) == string(Hash(b)) {
		t.Error("distinct tokens hash alike")
	}
}

func TestNewTokenUnknownKindPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewToken(\"xyz\") did not panic")
		}
	}()
	NewToken("xyz")
}

func FuzzParseToken(f *testing.F) {
	for _, s := range []string{
		NewToken(KindAPI), NewToken(KindSession), NewToken(KindEnroll),
		"", "vgl_", "vgl_api_", "vgl_api_" + strings.Repeat("A", 43), "vgl_xyz_" + strings.Repeat("_", 43),
		"vgl_api_" + strings.Repeat("A", 42) + "=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) || k != "" {
				t.Fatalf("ParseToken(%q) = %q, %v", s, k, err)
			}
			return
		}
		// Accepted text is exactly the canonical form of a 32-byte secret.
		if len(s) != TokenLen || !k.valid() {
			t.Fatalf("ParseToken accepted %q as %q", s, k)
		}
		secret, derr := base64.RawURLEncoding.DecodeString(s[8:])
		if derr != nil || len(secret) != 32 {
			t.Fatalf("accepted %q with undecodable secret", s)
		}
		if canon := "vgl_" + string(k) + "_" + base64.RawURLEncoding.EncodeToString(secret); canon != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, canon)
		}
	})
}

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]string{
		"":                 "",
		"Bearer":           "",
		"Bearer abc":       "abc",
		"bearer  abc ":     "abc",
		"Basic dXNlcjpwdw": "",
		"Token abc":        "",
	} {
		if got := BearerToken(h); got != want {
			t.Errorf("BearerToken(%q) = %q; want %q", h, got, want)
		}
	}
}
