package hostinv

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestParsersLargeInput feeds every parser a file of the maximum size in
// shapes that would expose quadratic behaviour.
func TestParsersLargeInput(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: large inputs in -short mode")
	}
	const size = DefaultMaxFileSize
	inputs := map[string][]byte{
		"spaces":        bytes.Repeat([]byte(" "), size),
		"newlines":      bytes.Repeat([]byte("\n"), size),
		"continuations": bytes.Repeat([]byte("a\\\n"), size/3),
		"defaults":      []byte("Defaults:a" + strings.Repeat(" ", size) + "x"),
		"defaults2":     []byte("Defaults:" + strings.Repeat(", ", size/2)),
		"unit cont":     []byte("[Service]\nExecStart=a \\\n" + strings.Repeat("b \\\n", size/4)),
		"quotes":        bytes.Repeat([]byte(`"`), size),
		"bangs":         []byte("a ALL = " + strings.Repeat("! ", size/2)),
		"commas":        []byte("a ALL = " + strings.Repeat("x,", size/2)),
		"hashes":        bytes.Repeat([]byte("#1 "), size/3),
		"colons":        bytes.Repeat([]byte(":"), size),
		"parens":        bytes.Repeat([]byte("(("), size/2),
		"fields":        bytes.Repeat([]byte("1 "), size/2),
	}
	parsers := map[string]func([]byte){
		"os-release": func(b []byte) { parseOSRelease(b) },
		"passwd":     func(b []byte) { parsePasswd(b, DefaultMaxEntries) },
		"group":      func(b []byte) { parseGroup(b, DefaultMaxEntries) },
		"sudoers":    func(b []byte) { parseSudoers(b) },
		"crontab":    func(b []byte) { parseCrontab(b, true) },
		"unit":       func(b []byte) { parseUnit(b) },
		"sockets":    func(b []byte) { parseNetSockets(bytes.NewReader(b), func(socket) {}) },
		"modules":    func(b []byte) { parseModules(b, DefaultMaxEntries) },
		"proc stat":  func(b []byte) { parseProcStat(b); parseProcStatus(b) },
	}
	for pname, parse := range parsers {
		for iname, in := range inputs {
			start := time.Now()
			parse(in)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s on %s: %v", pname, iname, d)
			}
		}
	}
}
