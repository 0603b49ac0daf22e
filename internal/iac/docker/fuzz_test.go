package docker

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// seeds adds every fixture matching pattern to the corpus.
func seeds(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDockerfile(f *testing.F) {
	seeds(f, "Dockerfile.*")
	f.Add([]byte("# escape=`\nFROM windows\nRUN dir `\n  c:\\\nONBUILD RUN echo hi\nSHELL [\"powershell\"]\nVOLUME /data\n"))
	f.Add([]byte("FROM a AS b\nFROM b\nEXPOSE 1-65535 $P/udp\nARG X=${Y:-z}\nUSER ${X}\nCOPY <<A <<B /x\na\nA\nb\nB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseDockerfile("Dockerfile", data)
		if err != nil || r == nil {
			return
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("resource does not marshal: %v", err)
		}
		for p, rg := range r.Lines {
			if rg.StartLine < 1 || rg.EndLine < rg.StartLine || !r.Location.Range.Contains(rg.EndLine) {
				t.Fatalf("line range %s = %v outside %v", p, rg, r.Location.Range)
			}
		}
	})
}

func FuzzCompose(f *testing.F) {
	seeds(f, "*compose*.y*ml")
	f.Add([]byte("services:\n  a: &a {image: x, privileged: true}\n  b:\n    <<: *a\n    volumes: [/:/host]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseCompose("compose.yaml", data)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Attrs == nil {
				t.Fatalf("%s: nil attrs", r.Address)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Fatalf("resource does not marshal: %v", err)
			}
		}
	})
}
