package detect

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: rule files are untrusted input (user directories, hot
// reload). Parsing and compiling must never panic.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("rules/*.yaml")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte("rules:\n  - {id: T-1, title: t, severity: low, kinds: [exec], condition: 'true', output: '${process.name}'}\n"))
	f.Add([]byte("macros: {a: b, b: a}\nrules: [{id: T-1, title: t, severity: low, kinds: [exec], condition: a}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("fuzz.yaml", data)
		if err != nil || rs == nil {
			return
		}
		e, err := New(rs, nil)
		if err != nil {
			return
		}
		RunTests(e)
	})
}

// FuzzExpand: the macro expander must give back any text it does not
// touch and never panic.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{`process.name in shells`, `"a\"b" + shells`, `r'x' shells.x`, "`a b` shells", "// shells\nshells", `"""x""" shells`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		x := newExpander(map[string][]string{"shells": {"sh"}}, map[string]string{"m": "shells"})
		none := newExpander(nil, nil)
		got, err := none.expand(src)
		if err != nil || got != src {
			t.Fatalf("identity expansion changed %q into %q (%v)", src, got, err)
		}
		_, _ = x.expand(src)
	})
}

// FuzzTemplate: output templates never panic when split.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"a ${process.name} b", "$${x}", "${'}'}", "${", "${{}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, _, _ = splitTemplate(src)
	})
}

// FuzzParseEvent: event fixtures (and alert logs read back) are
// untrusted JSON.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"kind":"exec","process":{"name":"sh","args":["sh"]},"args":{"n":1,"s":"x"}}`))
	f.Add([]byte(`{"kind":"open","file":{"path":"/etc/shadow","write":true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseEvent(data)
		if err != nil {
			return
		}
		eng := fuzzEngine(t)
		eng.Match(e)
	})
}

var fuzzEng *Engine

func fuzzEngine(t *testing.T) *Engine {
	if fuzzEng == nil {
		fuzzEng = builtinEngine(t)
	}
	return fuzzEng
}
