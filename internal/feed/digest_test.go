package feed

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseDigest(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	tests := []struct {
		name, in, want string
	}{
		{"bare", a + "\n", a},
		{"bare upper", strings.ToUpper(a), a},
		{"sha256sum", a + "  all.zip\n", a},
		{"single line names another file", a + "  other.zip\n", a},
		{"binary", b + " *x.zip\n" + a + " *all.zip\n", a},
		{"path", b + "  Go/x.zip\n" + a + "  Go/all.zip\n", a},
		{"bsd", "SHA256 (all.zip) = " + a, a},
		{"comments and blanks", "# digests\n\n" + a + "  all.zip\n", a},
		{"ambiguous", a + "  x.zip\n" + b + "  y.zip\n", ""},
		{"empty", "", ""},
		{"short", "abc  all.zip", ""},
		{"garbage", "<html>not found</html>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDigest([]byte(tt.in), "all.zip")
			if tt.want == "" {
				if !errors.Is(err, ErrDigest) {
					t.Fatalf("parseDigest = %q, %v; want ErrDigest", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseDigest = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// FuzzParseDigest: a sidecar comes from the network; parsing never panics
// and yields a lowercase 64-hex digest or an ErrDigest.
func FuzzParseDigest(f *testing.F) {
	f.Add([]byte(strings.Repeat("a", 64) + "  all.zip\n"))
	f.Add([]byte("SHA256 (all.zip) = " + strings.Repeat("0", 64)))
	f.Add([]byte(strings.Repeat("f", 64)))
	f.Add([]byte("\x00\n\n*"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseDigest(b, "all.zip")
		if err != nil {
			if !errors.Is(err, ErrDigest) {
				t.Fatalf("error %v is not ErrDigest", err)
			}
			return
		}
		if !isHexDigest(got) || strings.ToLower(got) != got {
			t.Fatalf("digest %q", got)
		}
	})
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		first, total int64
		ok           bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/1", 0, 1, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 100-199/150", 0, 0, false},
		{"bytes 9-5/20", 0, 0, false},
		{"bytes */200", 0, 0, false},
		{"items 0-1/2", 0, 0, false},
		{"bytes -1-5/9", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		first, total, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok || tt.ok && (first != tt.first || total != tt.total) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, ok %v", tt.in, first, total, err, tt.first, tt.total, tt.ok)
		}
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		base     time.Duration
		n        int
		min, max time.Duration
	}{
		{100 * time.Millisecond, 1, 50 * time.Millisecond, 100 * time.Millisecond},
		{100 * time.Millisecond, 3, 200 * time.Millisecond, 400 * time.Millisecond},
		{time.Second, 50, 15 * time.Second, 30 * time.Second},
		{time.Minute, 2, 30 * time.Second, time.Minute}, // a base over the cap is kept
	}
	for _, tt := range tests {
		for range 100 {
			if d := backoff(tt.base, tt.n); d < tt.min || d > tt.max {
				t.Fatalf("backoff(%v, %d) = %v, want in [%v, %v]", tt.base, tt.n, d, tt.min, tt.max)
			}
		}
	}
}
