package vuln

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vigil-sec/vigil/internal/inventory"
)

const reachSrc = `package main

import (
	"net/http"
	"os"
)

type List[T any] struct{ items []T }

//go:noinline
func (l *List[T]) Push(v T) { l.items = append(l.items, v) }

func main() {
	l := &List[string]{}
	l.Push(os.Args[0])
	if len(os.Args) > 5 {
		_ = http.ListenAndServe(":0", nil)
	}
	done := make(chan bool)
	go func() { done <- len(l.items) > 0 }()
	<-done
}
`

// buildReach builds a small program calling net/http.ListenAndServe (and
// nothing of net/http's TLS serving) with the local toolchain.
func buildReach(t *testing.T, ldflags string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go binary; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(reachSrc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/reach\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "reach")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags="+ldflags, "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

func TestGoSymbols(t *testing.T) {
	for _, tt := range []struct{ name, ldflags string }{{"symbols", ""}, {"stripped", "-s -w"}} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := os.Open(buildReach(t, tt.ldflags))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			syms, err := GoSymbols(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{
				"net/http.ListenAndServe",        // called
				"net/http.Server.ListenAndServe", // pointer receiver, normalised
				"net/http.Server.Serve",          // GO-2022-0969 symbol, reached from ListenAndServe
				"net/http",                       // the package itself
				"main.List.Push",                 // generic type's method, type arguments dropped
				"main.main",                      // encloses main.main.func1
				"main.main.func1",
				"runtime.main",
			} {
				if !syms[s] {
					t.Errorf("%s missing", s)
				}
			}
			for _, s := range []string{
				"net/http.ServeTLS", // never called: dead-code eliminated
				"net/http.ListenAndServeTLS",
				"golang.org/x/text/language.Parse", // not linked at all
				"net/http.(*Server).Serve",         // raw form never leaks
			} {
				if syms[s] {
					t.Errorf("%s present", s)
				}
			}
		})
	}
}

func TestGoSymbolsNotGo(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":  nil,
		"text":   []byte("#!/bin/sh\necho hi\n"),
		"elf":    append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 120)...),
		"pe":     append([]byte("MZ"), make([]byte, 200)...),
		"random": bytes.Repeat([]byte{0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8}, 64),
	} {
		if _, err := GoSymbols(bytes.NewReader(b)); !errors.Is(err, ErrNoPclntab) {
			t.Errorf("%s: err = %v, want ErrNoPclntab", name, err)
		}
	}
}

func TestOSVSymbol(t *testing.T) {
	for _, tt := range []struct{ in, pkg, full, outer string }{
		{"net/http.(*Server).Serve", "net/http", "net/http.Server.Serve", "net/http.Server.Serve"},
		{"net/http.ListenAndServe", "net/http", "net/http.ListenAndServe", "net/http.ListenAndServe"},
		{"net/http.(*http2serverConn).goAway", "net/http", "net/http.http2serverConn.goAway", "net/http.http2serverConn.goAway"},
		{"gopkg.in/yaml%2ev3.Unmarshal", "gopkg.in/yaml.v3", "gopkg.in/yaml.v3.Unmarshal", "gopkg.in/yaml.v3.Unmarshal"},
		{"gopkg.in/yaml%2ev3.(*parser).parse", "gopkg.in/yaml.v3", "gopkg.in/yaml.v3.parser.parse", "gopkg.in/yaml.v3.parser.parse"},
		{"example.com/m.Map[...]", "example.com/m", "example.com/m.Map", "example.com/m.Map"},
		{"example.com/m.Map[go.shape.*example.com/x.T]", "example.com/m", "example.com/m.Map", "example.com/m.Map"},
		{"example.com/m.(*List[...]).Push", "example.com/m", "example.com/m.List.Push", "example.com/m.List.Push"},
		{"example.com/m.Run.func1.2", "example.com/m", "example.com/m.Run.func1.2", "example.com/m.Run"},
		{"example.com/m.(*T).M.func3", "example.com/m", "example.com/m.T.M.func3", "example.com/m.T.M"},
		{"example.com/m.T.M-fm", "example.com/m", "example.com/m.T.M", "example.com/m.T.M"},
		{"example.com/m.init.0", "example.com/m", "example.com/m.init.0", "example.com/m.init"},
		{"golang.org/x/text/language.Parse.gowrap1", "golang.org/x/text/language", "golang.org/x/text/language.Parse.gowrap1", "golang.org/x/text/language.Parse"},
		{"main.main", "main", "main.main", "main.main"},
	} {
		pkg, full, outer, ok := osvSymbol(tt.in)
		if !ok || pkg != tt.pkg || full != tt.full || outer != tt.outer {
			t.Errorf("osvSymbol(%q) = %q %q %q %v, want %q %q %q", tt.in, pkg, full, outer, ok, tt.pkg, tt.full, tt.outer)
		}
	}
	for _, in := range []string{"type:.eq.main.T", "go:buildid", "nodot", ""} {
		if _, _, _, ok := osvSymbol(in); ok {
			t.Errorf("osvSymbol(%q) ok", in)
		}
	}
}

// FuzzGoSymbols feeds arbitrary bytes: GoSymbols must fail cleanly, never
// panic or allocate without bound.
func FuzzGoSymbols(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x7fELF\x02\x01\x01\x00"))
	f.Add(append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 120)...))
	f.Add([]byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"))
	f.Add(append([]byte("MZ"), make([]byte, 200)...))
	f.Add([]byte{0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		syms, err := GoSymbols(bytes.NewReader(b))
		if err == nil && len(syms) == 0 {
			t.Error("no error and no symbols")
		}
	})
}

// TestFindReachabilityFromBinary joins GoSymbols and Find on a real
// binary: GO-2022-0969 names net/http.Server.Serve, which the program
// links; GO-2021-0113 names x/text/language functions, which it does not.
func TestFindReachabilityFromBinary(t *testing.T) {
	f, err := os.Open(buildReach(t, "-s -w"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := GoSymbols(f)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Symbols: func(p inventory.Package) (map[string]bool, bool) {
		return syms, p.Locations[0].Path == "/bin/app"
	}}
	r := result(nil, goBinPkg("stdlib", "1.18.2"), goBinPkg("golang.org/x/text", "0.3.7"))
	rep := find(t, realSource(t), r, o)
	for _, c := range []struct {
		pkg, id string
		want    bool
	}{{"stdlib", "CVE-2022-27664", true}, {"golang.org/x/text", "CVE-2022-32149", false}} {
		m := matchOf(t, rep, c.pkg, c.id)
		if m.Reachable == nil || *m.Reachable != c.want {
			t.Errorf("%s in %s: reachable = %v, want %v", c.id, c.pkg, m.Reachable, c.want)
		}
	}
}
