package sbom

import "testing"

func TestLicenses(t *testing.T) {
	tests := []struct {
		in     string
		valid  bool
		norm   string
		isID   bool
		cdxKey string // how CycloneDX writes it alone: id, expression or name
	}{
		{"MIT", true, "MIT", true, "id"},
		{"mit", true, "MIT", false, "name"},
		{"GPL-2.0", true, "GPL-2.0", true, "id"}, // deprecated but listed
		{"Apache-2.0 OR MIT", true, "Apache-2.0 OR MIT", false, "expression"},
		{"GPL-2.0-or-later WITH Classpath-exception-2.0", true, "GPL-2.0-or-later WITH Classpath-exception-2.0", false, "expression"},
		{"GPL", false, "", false, "name"},
		{"LicenseRef-foo", false, "", false, "name"},
		{"MIT AND (BSD-3-Clause OR LicenseRef-x)", false, "", false, "name"},
		{"MIT AND", false, "", false, "name"},
		{"Custom License v1", false, "", false, "name"},
	}
	for _, tt := range tests {
		norm, ok := spdxExpression(tt.in)
		if ok != tt.valid || norm != tt.norm {
			t.Errorf("spdxExpression(%q) = %q, %v; want %q, %v", tt.in, norm, ok, tt.norm, tt.valid)
		}
		if got := (licenseCache{}).isID(tt.in); got != tt.isID {
			t.Errorf("isID(%q) = %v", tt.in, got)
		}
		ls := *cdxLicenses([]string{tt.in}, licenseCache{}, 0)
		key := "name"
		switch {
		case ls[0].Expression != "":
			key = "expression"
		case ls[0].License.ID != "":
			key = "id"
		}
		if key != tt.cdxKey {
			t.Errorf("CycloneDX writes %q as %s, want %s", tt.in, key, tt.cdxKey)
		}
	}
	// LicenseRefs are valid identifiers and distinct for distinct texts.
	a, b := licenseRef("Custom License v1"), licenseRef("Custom License v1!")
	if a == b || !spdxIDRE.MatchString("SPDXRef-"+a[len("LicenseRef-"):]) {
		t.Errorf("licenseRef gave %q and %q", a, b)
	}
	if r := licenseRef("☃☃☃"); !spdxIDRE.MatchString("SPDXRef-" + r[len("LicenseRef-"):]) {
		t.Errorf("licenseRef of non-ASCII text = %q", r)
	}
}
