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

// forbidden lists, per package, imports it must never have anywhere in its
// dependency tree: leaf packages stay leaves, and layerfs stays free of the
// image and extraction libraries.
var forbidden = map[string][]string{
	"github.com/vigil-sec/vigil/internal/asset":    {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/finding":  {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/advisory": {"github.com/vigil-sec/vigil/", "github.com/google/osv-scalibr/extractor"},
	"github.com/vigil-sec/vigil/internal/layerfs":  {"github.com/google/osv-scalibr", "github.com/google/go-containerregistry"},
	"github.com/vigil-sec/vigil/internal/feed":     {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/secret":   {"github.com/google/osv-scalibr", "github.com/google/go-containerregistry", "github.com/vigil-sec/vigil/internal/inventory"},
	"github.com/vigil-sec/vigil/internal/bundle":   {"github.com/vigil-sec/vigil/"},
	// The agent binary links no server, store, API or console code and no
	// vulnerability database: it only collects and ships.
	"github.com/vigil-sec/vigil/cmd/vigil-agent": agentBans,
	"github.com/vigil-sec/vigil/internal/agent":  agentBans,
	// Host collectors are leaves: the agent wires them together.
	"github.com/vigil-sec/vigil/internal/hostinv":    {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/cloudmeta":  {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/containers": {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/pki":        {"github.com/vigil-sec/vigil/"},
	"github.com/vigil-sec/vigil/internal/spool":      {"github.com/vigil-sec/vigil/"},
	// The store knows nothing of the protocol, the API or the engines.
	"github.com/vigil-sec/vigil/internal/store": {"github.com/vigil-sec/vigil/internal/agentpb", "github.com/vigil-sec/vigil/internal/fleet",
		"github.com/vigil-sec/vigil/internal/api", "github.com/vigil-sec/vigil/internal/auth", "github.com/vigil-sec/vigil/internal/vuln",
		"github.com/vigil-sec/vigil/internal/inventory", "github.com/vigil-sec/vigil/internal/scan"},
}

var agentBans = []string{
	"github.com/vigil-sec/vigil/internal/server", "github.com/vigil-sec/vigil/internal/store",
	"github.com/vigil-sec/vigil/internal/api", "github.com/vigil-sec/vigil/internal/auth",
	"github.com/vigil-sec/vigil/internal/fleet", "github.com/vigil-sec/vigil/internal/assess",
	"github.com/vigil-sec/vigil/internal/vulndb", "github.com/vigil-sec/vigil/internal/cli",
	"github.com/jackc/pgx", "helm.sh/", "k8s.io/",
}

// forbiddenDirect lists imports a package must not make itself: SCALIBR is
// an implementation detail of inventory (and the matcher's version
// ordering), not a model other packages code against.
var forbiddenDirect = map[string][]string{
	"github.com/vigil-sec/vigil/internal/sbom":   {"github.com/google/osv-scalibr"},
	"github.com/vigil-sec/vigil/internal/report": {"github.com/google/osv-scalibr"},
	"github.com/vigil-sec/vigil/internal/scan":   {"github.com/google/osv-scalibr"},
}

func TestImportRules(t *testing.T) {
	out := run(t, "go", "list", "-json=ImportPath,Imports,Deps", "./...")
	dec := json.NewDecoder(strings.NewReader(out))
	seen := map[string]bool{}
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		check := func(rules map[string][]string, imports []string, how string) {
			bans, ok := rules[p.ImportPath]
			if !ok {
				return
			}
			seen[p.ImportPath] = true
			for _, b := range bans {
				for _, d := range imports {
					if strings.HasPrefix(d, b) {
						t.Errorf("%s must not import %s %s (found %s)", p.ImportPath, b, how, d)
						break
					}
				}
			}
		}
		check(forbidden, p.Deps, "at all")
		check(forbiddenDirect, p.Imports, "directly")
	}
	for _, rules := range []map[string][]string{forbidden, forbiddenDirect} {
		for p := range rules {
			if !seen[p] {
				t.Errorf("import rule for %s, which does not exist", p)
			}
		}
	}
}
