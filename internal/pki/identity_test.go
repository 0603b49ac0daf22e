package pki

import (
	"crypto/x509"
	"errors"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestValidateAgentID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"agent-1", true},
		{"i-0abc123.eu-west-1_prod", true},
		{"A", true},
		{strings.Repeat("a", MaxAgentIDLen), true},
		{"", false},
		{strings.Repeat("a", MaxAgentIDLen+1), false},
		{"-agent", false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"a%2F", false},
		{"é", false},
		{"a\x00", false},
		{"a?x", false},
	}
	for _, tt := range tests {
		err := ValidateAgentID(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateAgentID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadAgentID) {
			t.Errorf("ValidateAgentID(%q) = %v, not ErrBadAgentID", tt.id, err)
		}
	}
}

func TestAgentID(t *testing.T) {
	ca := newTestCA(t)
	key, _, err := NewAgentKey()
	if err != nil {
		t.Fatal(err)
	}
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		uris []*url.URL
		want string // "" for an error
	}{
		{name: "one", uris: []*url.URL{AgentURI("agent-1")}, want: "agent-1"},
		{name: "with other URIs", uris: []*url.URL{u("https://example.com/x"), AgentURI("agent-1"), u("vigil://server/x")}, want: "agent-1"},
		{name: "none", uris: nil},
		{name: "only others", uris: []*url.URL{u("https://example.com/agent-1")}},
		{name: "two", uris: []*url.URL{AgentURI("agent-1"), AgentURI("agent-2")}},
		{name: "same twice", uris: []*url.URL{AgentURI("agent-1"), AgentURI("agent-1")}},
		{name: "query", uris: []*url.URL{u("vigil://agent/agent-1?admin=1")}},
		{name: "fragment", uris: []*url.URL{u("vigil://agent/agent-1#x")}},
		{name: "user", uris: []*url.URL{u("vigil://root@agent/agent-1")}},
		{name: "nested path", uris: []*url.URL{u("vigil://agent/a/b")}},
		{name: "escaped", uris: []*url.URL{u("vigil://agent/a%2Fb")}},
		{name: "empty ID", uris: []*url.URL{u("vigil://agent/")}},
		{name: "no path", uris: []*url.URL{u("vigil://agent")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der := signRaw(t, ca, &x509.Certificate{
				SerialNumber: big.NewInt(1),
				NotBefore:    time.Now(),
				NotAfter:     time.Now().Add(time.Hour),
				URIs:         tt.uris,
			}, key.Public())
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			id, err := AgentID(cert)
			if tt.want != "" {
				if err != nil || id != tt.want {
					t.Errorf("AgentID = %q, %v; want %q", id, err, tt.want)
				}
				return
			}
			if !errors.Is(err, ErrNotAgent) {
				t.Errorf("AgentID = %q, %v; want ErrNotAgent", id, err)
			}
		})
	}
	if _, err := AgentID(nil); !errors.Is(err, ErrNotAgent) {
		t.Errorf("AgentID(nil) = %v", err)
	}
}

func TestNeedsRenewal(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := &x509.Certificate{NotBefore: start, NotAfter: start.Add(30 * 24 * time.Hour)}
	day := 24 * time.Hour
	tests := []struct {
		name     string
		cert     *x509.Certificate
		at       time.Duration // after start
		fraction float64
		want     bool
	}{
		{name: "fresh", cert: cert, at: day, fraction: DefaultRenewFraction, want: false},
		{name: "just before 2/3", cert: cert, at: 20*day - time.Second, fraction: DefaultRenewFraction, want: false},
		{name: "at 2/3", cert: cert, at: 20 * day, fraction: DefaultRenewFraction, want: true},
		{name: "half, fraction 0.5", cert: cert, at: 15 * day, fraction: 0.5, want: true},
		{name: "fraction 0 means default", cert: cert, at: 15 * day, fraction: 0, want: false},
		{name: "fraction above 1 means default", cert: cert, at: 21 * day, fraction: 7, want: true},
		{name: "expired", cert: cert, at: 31 * day, fraction: 1, want: true},
		{name: "fraction 1, before expiry", cert: cert, at: 29 * day, fraction: 1, want: false},
		{name: "before NotBefore", cert: cert, at: -day, fraction: DefaultRenewFraction, want: false},
		{name: "nil", cert: nil, want: true},
	}
	for _, tt := range tests {
		if got := NeedsRenewal(tt.cert, start.Add(tt.at), tt.fraction); got != tt.want {
			t.Errorf("%s: NeedsRenewal = %v, want %v", tt.name, got, tt.want)
		}
	}
}
