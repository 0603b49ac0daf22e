package console

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	en, zh := slices.Sorted(maps.Keys(catalogEN)), slices.Sorted(maps.Keys(catalogZH))
	for _, k := range en {
		if _, ok := catalogZH[k]; !ok {
			t.Errorf("zh-CN catalog lacks %q", k)
		}
	}
	for _, k := range zh {
		if _, ok := catalogEN[k]; !ok {
			t.Errorf("en catalog lacks %q", k)
		}
	}
	verbs := regexp.MustCompile(`%[a-z]`)
	for _, k := range en {
		if strings.TrimSpace(catalogEN[k]) == "" || strings.TrimSpace(catalogZH[k]) == "" {
			t.Errorf("%q is empty in a catalog", k)
		}
		// The same arguments in the same order.
		if a, b := verbs.FindAllString(catalogEN[k], -1), verbs.FindAllString(catalogZH[k], -1); !slices.Equal(a, b) {
			t.Errorf("%q: verbs %v in en, %v in zh-CN", k, a, b)
		}
	}
}

// usedKeys finds the catalog keys named literally in templates ({{t
// "key"}}) and Go code (.t("key"), invalid(s, "key"), flash and accept
// problem keys).
func usedKeys(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(file string, re *regexp.Regexp, src string) {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			used[m[1]] = append(used[m[1]], file)
		}
	}
	tmplRE := regexp.MustCompile(`[({]\s*-?\s*t\s+"([^"]+)"`)
	for _, name := range templateFiles() {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		add(name, tmplRE, string(b))
	}
	goRE := []*regexp.Regexp{
		regexp.MustCompile(`\.t\("([^"]+)"[,)]`),
		regexp.MustCompile(`invalid\(s, "([^"]+)"\)`),
		regexp.MustCompile(`"((?:flash|accept)\.[A-Za-z]+)"`),
	}
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range gofiles {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "catalog_") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range goRE {
			add(f, re, string(b))
		}
	}
	return used
}

func TestEveryUsedKeyExists(t *testing.T) {
	used := usedKeys(t)
	if len(used) < 100 {
		t.Fatalf("found only %d keys in use: the scan is broken", len(used))
	}
	for k, where := range used {
		if !has(k) {
			t.Errorf("key %q used in %v is in no catalog", k, where)
		}
	}
	// Keys built from a prefix and a value (label "sev" .Severity, nav
	// items) exist for every value the console knows.
	enums := map[string][]string{
		"sev": severities, "status": statuses, "kind": {"vulnerability", "misconfiguration", "secret", "baseline", "alert"},
		"asset": {"host", "container", "image"}, "agent": {"online", "silent", "revoked"}, "role": roles,
		"scope": {"read", "write", "admin"}, "tab": assetTabs, "nav": navSections,
		"ttl": append(slices.Clone(enrollTTLs), tokenTTLs...), "channel": channelKinds,
	}
	for _, spec := range []*listSpec{assetsSpec, assetFindingsSpec, packagesSpec, itemsSpec, containersSpec, assetEventsSpec,
		vulnsSpec, vulnFindingsSpec, findingsSpec, eventsSpec, agentsSpec, usersSpec, tokensSpec, auditSpec, channelsSpec} {
		enums["sort"] = append(enums["sort"], spec.sorts...)
	}
	for _, cols := range itemColumns {
		enums["col"] = append(enums["col"], cols...)
	}
	for _, k := range flashKeys {
		if !has(k) {
			t.Errorf("flash key %q is in no catalog", k)
		}
	}
	for prefix, values := range enums {
		for _, v := range values {
			if !has(prefix + "." + v) {
				t.Errorf("key %q (label %q %q) is in no catalog", prefix+"."+v, prefix, v)
			}
		}
	}
}

func TestNoUnusedKeys(t *testing.T) {
	used := usedKeys(t)
	prefixes := []string{"sev.", "status.", "kind.", "asset.", "agent.", "role.", "scope.", "tab.", "nav.", "ttl.", "sort.", "col.", "flash.", "channel."}
	for k := range catalogEN {
		if _, ok := used[k]; ok || slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			continue
		}
		t.Errorf("catalog key %q is never used", k)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   lang
	}{
		{"", langEN},
		{"zh-CN,zh;q=0.9,en;q=0.8", langZH},
		{"en-US,en;q=0.9,zh-CN;q=0.8", langEN},
		{"fr-FR, zh-Hans;q=0.5", langZH},
		{"zh-TW", langZH},
		{"de, fr", langEN},
		{"en;q=0.1, zh;q=0.2", langZH},
		{"zh;q=0, en", langEN},
		{"zh;q=bogus", langEN},
		{"ZH-cn", langZH},
		{strings.Repeat("x,", 2000) + "zh", langEN}, // past the bound
	} {
		if got := negotiate(tc.header); got != tc.want {
			t.Errorf("negotiate(%.40q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}

func TestTranslate(t *testing.T) {
	if got := langZH.t("flash.accepted", 3); got != "已接受 3 项风险发现。" {
		t.Errorf("zh flash.accepted = %q", got)
	}
	if got := langEN.t("no.such.key"); got != "¿no.such.key?" {
		t.Errorf("missing key renders %q", got)
	}
	if got := langZH.label("sev", "critical"); got != "严重" {
		t.Errorf("label sev critical = %q", got)
	}
	if got := langEN.label("sev", "catastrophic"); got != "catastrophic" {
		t.Errorf("unknown value renders %q, want itself", got)
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"zh-CN,zh;q=0.9", "en;q=0.5", ";q=", ",,,", "zh;q=1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if l := negotiate(h); l != langEN && l != langZH {
			t.Fatalf("negotiate(%q) = %q", h, l)
		}
	})
}
