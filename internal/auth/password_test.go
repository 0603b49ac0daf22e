package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func testHasher(t *testing.T) *Hasher {
	t.Helper()
	return NewHasher(&HasherOptions{Params: &TestParams})
}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := testHasher(t)
	const pw = "correct horse battery staple"
	enc, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("encoded hash %q lacks the PHC prefix", enc)
	}
	if strings.Contains(enc, pw) {
		t.Fatal("encoded hash contains the password")
	}
	ok, err := h.Verify(ctx, enc, pw)
	if err != nil || !ok {
		t.Fatalf("Verify(right password) = %v, %v; want true", ok, err)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple", pw + " "} {
		ok, err := h.Verify(ctx, enc, wrong)
		if err != nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false", wrong, ok, err)
		}
	}
	enc2, err := h.Hash(ctx, pw)
	if err != nil {
		t.Fatal(err)
	}
	if enc2 == enc {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestVerifyUnknownUserUsesDummy(t *testing.T) {
	h := testHasher(t)
	// Whatever the password, an empty hash never verifies.
	for _, pw := range []string{"", "anything at all here"} {
		ok, err := h.Verify(context.Background(), "", pw)
		if err != nil || ok {
			t.Errorf("Verify(\"\", %q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

func TestVerifyDefaultParamsHash(t *testing.T) {
	if testing.Short() {
		t.Skip("default parameters take 64 MiB and a noticeable time")
	}
	ctx := context.Background()
	enc, err := NewHasher(nil).Hash(ctx, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("default hash %q", enc)
	}
	// A Hasher with other parameters still verifies it, and wants a rehash.
	h := testHasher(t)
	if ok, err := h.Verify(ctx, enc, "a long enough password"); err != nil || !ok {
		t.Errorf("Verify = %v, %v", ok, err)
	}
	if !h.NeedsRehash(enc) {
		t.Error("NeedsRehash(default-params hash) with test params = false")
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, err := testHasher(t).Hash(context.Background(), "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for name, enc := range map[string]string{
		"bcrypt":         "$2a$10$abcdefghijklmnopqrstuuLiAEg7EefCBwBhr0zkwW8fpXW8Kb7zW",
		"argon2i":        "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"old version":    "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"missing param":  "$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"extra param":    "$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,
		"repeated param": "$argon2id$v=19$m=64,m=64,t=1$" + salt + "$" + key,
		"huge memory":    "$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key,
		"huge time":      "$argon2id$v=19$m=64,t=100000,p=1$" + salt + "$" + key,
		"zero threads":   "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"threads > 255":  "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"bad salt":       "$argon2id$v=19$m=64,t=1,p=1$!!!$" + key,
		"short key":      "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA",
		"padded salt":    "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key,
		"trailing":       good + "$",
		"empty fields":   "$argon2id$$$$",
		"long":           good + strings.Repeat("A", 600),
	} {
		t.Run(name, func(t *testing.T) {
			ok, err := testHasher(t).Verify(context.Background(), enc, "a long enough password")
			if ok || !errors.Is(err, ErrHashFormat) {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrHashFormat", enc, ok, err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	h := testHasher(t)
	enc, err := h.Hash(context.Background(), "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash(own hash) = true")
	}
	stronger := TestParams
	stronger.Time = 2
	if !NewHasher(&HasherOptions{Params: &stronger}).NeedsRehash(enc) {
		t.Error("NeedsRehash with more passes = false")
	}
	if !h.NeedsRehash("garbage") {
		t.Error("NeedsRehash(garbage) = false")
	}
}

func TestHashWaitsForSlot(t *testing.T) {
	h := NewHasher(&HasherOptions{Params: &TestParams, Concurrency: 1})
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "a long enough password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash with no free slot = %v; want DeadlineExceeded", err)
	}
	<-h.slots
	if _, err := h.Hash(context.Background(), "a long enough password"); err != nil {
		t.Errorf("Hash with a free slot: %v", err)
	}
}

func TestNewHasherRejectsBadParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewHasher with zero passes did not panic")
		}
	}()
	bad := TestParams
	bad.Time = 0
	NewHasher(&HasherOptions{Params: &bad})
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"", false},
		{"short", false},
		{"elevenchars", false},
		{"twelve chars", true},
		{"aaaaaaaaaaaaaaaa", false},
		{"ééééééééééé", false}, // 11 runes, 22 bytes
		{"éééééééééééx", true},
		{"valid \xff bytes here", false},
		{strings.Repeat("ab", MaxPasswordLen/2), true},
		{strings.Repeat("ab", MaxPasswordLen/2) + "c", false},
	} {
		err := CheckPassword(tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%.20q) = %v; want ok=%v", tc.pw, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrPasswordPolicy) {
			t.Errorf("CheckPassword(%.20q) = %v; not ErrPasswordPolicy", tc.pw, err)
		}
	}
}
