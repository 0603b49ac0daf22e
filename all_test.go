// Repository hygiene: formatting, vet, a tidy go.mod, and which packages may
// import which. These run with the rest of the suite so that CI enforces them.
package vigil_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func TestGofmt(t *testing.T) {
	files := strings.Fields(run(t, "git", "ls-files", "--cached", "--others", "--exclude-standard", "*.go"))
	if len(files) == 0 {
		t.Skip("skipping: not a git checkout")
	}
	if out := run(t, "gofmt", append([]string{"-l"}, files...)...); strings.TrimSpace(out) != "" {
		t.Errorf("gofmt would change:\n%s", out)
	}
}

func TestVet(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: go vet of the whole module in -short mode")
	}
	run(t, "go", "vet", "./...")
}

func TestModTidy(t *testing.T) {
	run(t, "go", "mod", "tidy", "-diff")
}

// forbidden lists, per package pattern, imports it must never have (direct
// or indirect), keeping engines free of what they do not need and leaf
// packages leaves.
var forbidden = map[string][]string{
	"github.com/vigil-sec/vigil/internal/asset":   {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/finding": {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/layerfs": {"github.com/google/osv-scalibr", "github.com/google/go-containerregistry"},
	"github.com/vigil-sec/vigil/internal/sbom":    {"github.com/google/osv-scalibr"},
	"github.com/vigil-sec/vigil/internal/report":  {"github.com/google/osv-scalibr"},
}

func TestImportRules(t *testing.T) {
	out := run(t, "go", "list", "-json=ImportPath,Deps", "./...")
	dec := json.NewDecoder(strings.NewReader(out))
	seen := map[string]bool{}
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		bans, ok := forbidden[p.ImportPath]
		if !ok {
			continue
		}
		seen[p.ImportPath] = true
		for _, d := range p.Deps {
			for _, b := range bans {
				if strings.HasPrefix(d, b) {
					t.Errorf("%s must not import %s (via %s)", p.ImportPath, b, d)
				}
			}
		}
	}
	for p := range forbidden {
		if !seen[p] {
			t.Logf("package %s not present yet", p)
		}
	}
}
