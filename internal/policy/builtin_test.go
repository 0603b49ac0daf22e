//go:build !vigil_noloaders

package policy_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/iac"
	"github.com/vigil-sec/vigil/internal/iac/cloudformation"
	"github.com/vigil-sec/vigil/internal/iac/docker"
	"github.com/vigil-sec/vigil/internal/iac/kube"
	"github.com/vigil-sec/vigil/internal/iac/terraform"
	"github.com/vigil-sec/vigil/internal/policy"
)

// minBuiltinRules is the size the built-in library must keep.
const minBuiltinRules = 250

func loaders() []iac.Loader {
	return []iac.Loader{
		terraform.New(terraform.Options{}),
		kube.New(kube.Options{}),
		docker.NewDockerfile(),
		docker.NewCompose(),
		cloudformation.New(),
	}
}

// TestBuiltinRules runs every built-in rule's own fixtures: each rule must
// have at least one fixture that makes it fire and one that does not, and
// complete metadata. VIGIL_RULES_DIR=aws limits the run to the rule files
// under rules/aws (for rule authors).
func TestBuiltinRules(t *testing.T) {
	rules, err := policy.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	only := os.Getenv("VIGIL_RULES_DIR")
	if only != "" {
		var sub []policy.Rule
		for _, r := range rules {
			if strings.HasPrefix(r.File, only+"/") {
				sub = append(sub, r)
			}
		}
		rules = sub
		t.Logf("VIGIL_RULES_DIR=%s: %d rules", only, len(rules))
	} else if len(rules) < minBuiltinRules {
		t.Errorf("%d built-in rules, want at least %d", len(rules), minBuiltinRules)
	}
	for _, r := range rules {
		var pass, fail int
		for _, tc := range r.Tests {
			if tc.Expect == "pass" {
				pass++
			} else {
				fail++
			}
		}
		if pass == 0 || fail == 0 {
			t.Errorf("%s (%s): %d passing and %d failing fixtures, want at least one of each", r.ID, r.File, pass, fail)
		}
		if strings.TrimSpace(r.Description) == "" || strings.TrimSpace(r.Remediation) == "" {
			t.Errorf("%s (%s): description and remediation are required for built-in rules", r.ID, r.File)
		}
	}
	e, err := policy.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	results, err := policy.RunTests(context.Background(), e, loaders())
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range results {
		if !r.Passed() {
			failed++
			t.Errorf("%s %q (expect %s): %v", r.RuleID, r.Name, r.Expect, r.Err)
		}
	}
	t.Logf("%d rules, %d fixtures, %d failed", len(rules), len(results), failed)
}
