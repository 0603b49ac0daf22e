package vuln

import "testing"

// TestCompareVersions checks each ecosystem's ordering on real versions
// (taken from the Debian, Alpine, Fedora, PyPI, Maven Central, npm,
// crates.io, RubyGems and Go module indexes) against what the ecosystem's
// own tool says (dpkg --compare-versions, rpmdev-vercmp, apk version -t,
// packaging.version, Maven's ComparableVersion, golang.org/x/mod/semver,
// Gem::Version).
func TestCompareVersions(t *testing.T) {
	tests := []struct {
		eco, a, b string
		want      int
	}{
		// dpkg
		{"Debian:11", "1.1.1n-0+deb11u4", "1.1.1n-0+deb11u5", -1},
		{"Debian:11", "1:2.4.56-1~deb11u1", "2.4.56-1~deb11u1", +1}, // epoch wins
		{"Debian:11", "2:1.20.11-1+deb11u6", "2:1.20.11-1+deb11u5", +1},
		{"Debian:11", "2.4.56-1~deb11u1", "2.4.56-1", -1}, // ~ sorts before anything
		{"Debian:11", "1.0~rc1-1", "1.0-1", -1},
		{"Debian:11", "1.0~rc1~1-1", "1.0~rc1-1", -1},
		{"Debian:11", "2.31-13+deb11u5", "2.31-13+deb11u5+b1", -1}, // binNMU
		{"Debian:11", "2.31-13+b1", "2.31-13+deb11u1", -1},
		{"Debian:11", "102.9.0esr-1~deb11u1", "102.8.0esr-1~deb11u1", +1},
		{"Debian:11", "4.14.5+94-ge49571868d-1", "4.14.5+86-g1c354767d5-1", +1},
		{"Debian:11", "1.2.11.dfsg-2+deb11u2", "1.2.11.dfsg-2+deb11u1", +1},
		{"Debian:11", "1.0", "1.0-0", 0},
		{"Debian:11", "0:1.0-1", "1.0-1", 0},
		{"Debian:11", "7.74.0-1.3+deb11u7", "7.74.0-1.3+deb11u10", -1},
		{"Debian:11", "1.0a-1", "1.0-1", +1}, // letters sort after the end
		{"Debian:11", "1.0+dfsg-1", "1.0.1-1", -1},
		{"Debian:11", "1.0-1", "1.0-1.1", -1},
		{"Debian:11", "2.36-9+deb12u4", "2.36-9+deb12u10", -1},
		// RPM (Red Hat)
		{"Red Hat", "1:1.0-1.el9", "2.0-1.el9", +1},
		{"Red Hat", "3.0.7-16.el9_2", "3.0.7-6.el9_2", +1},
		{"Red Hat", "1.0~rc1-1", "1.0-1", -1},
		{"Red Hat", "1.0^git20230101-1", "1.0-1", +1},
		{"Red Hat", "1.0^git20230101-1", "1.0.1-1", -1},
		{"Red Hat", "2.28-225.el8", "2.28-225.el8_8.6", -1},
		{"Red Hat", "1.0a", "1.0", +1},
		// APK
		{"Alpine:v3.11", "1.2.3-r4", "1.2.3-r3", +1},
		{"Alpine:v3.11", "1.1.1g-r0", "1.1.1d-r3", +1},
		{"Alpine:v3.11", "1.2.3_rc1-r0", "1.2.3-r0", -1},
		{"Alpine:v3.11", "1.2.3_p1-r0", "1.2.3-r0", +1},
		{"Alpine:v3.11", "1.2.3_alpha1", "1.2.3_beta1", -1},
		{"Alpine:v3.11", "7.67.0-r0", "7.66.0-r4", +1},
		{"Alpine:v3.11", "2.9.10-r5", "2.9.10-r10", -1},
		// SemVer (npm, crates.io)
		{"npm", "1.0.0-alpha", "1.0.0-alpha.1", -1},
		{"npm", "1.0.0-alpha.beta", "1.0.0-beta", -1},
		{"npm", "1.0.0-beta.11", "1.0.0-rc.1", -1},
		{"npm", "1.0.0-rc.2", "1.0.0-rc.10", -1},
		{"npm", "1.0.0-rc.1", "1.0.0", -1},
		{"npm", "4.17.21", "4.17.20", +1},
		{"crates.io", "0.10.0", "0.9.9", +1},
		{"crates.io", "1.0.0+build.5", "1.0.0", 0},
		{"crates.io", "0.3.0-alpha.1", "0.2.9", +1},
		// PEP 440
		{"PyPI", "1.0.post1", "1.0", +1},
		{"PyPI", "1.0rc1", "1.0", -1},
		{"PyPI", "1.0.dev1", "1.0a1", -1},
		{"PyPI", "1.0a1", "1.0b1", -1},
		{"PyPI", "1!2.0", "3.0", +1},
		{"PyPI", "1.0", "1.0.0", 0},
		{"PyPI", "2.0.0", "10.0", -1},
		{"PyPI", "1.0+local.1", "1.0", +1},
		{"PyPI", "1.0.post1.dev1", "1.0.post1", -1},
		{"PyPI", "3.1.0", "3.1.0rc1", +1},
		{"PyPI", "1.0-1", "1.0.post1", 0}, // implicit post-release
		{"PyPI", "2.0.0c1", "2.0.0rc1", 0},
		// Maven
		{"Maven", "1.0-SNAPSHOT", "1.0", -1},
		{"Maven", "1.0.RELEASE", "1.0", 0},
		{"Maven", "5.3.18.RELEASE", "5.3.18", 0},
		{"Maven", "1.0-alpha-1", "1.0-beta-1", -1},
		{"Maven", "1.0-rc1", "1.0", -1},
		{"Maven", "1.0-sp1", "1.0", +1},
		{"Maven", "2.14.1", "2.14.0", +1},
		{"Maven", "2.15.0-rc1", "2.14.1", +1},
		{"Maven", "1.0-M1", "1.0-rc1", -1},
		{"Maven", "5.6.15.Final", "5.6.15", 0},
		{"Maven", "1.0-ga", "1.0", 0},
		{"Maven", "1.0.0-cr1", "1.0.0-rc1", 0},
		{"Maven", "9.4.51.v20230217", "9.4.50.v20221201", +1},
		// NuGet
		{"NuGet", "13.0.1", "12.0.3", +1},
		{"NuGet", "6.0.0-preview.1", "6.0.0", -1},
		// Packagist
		{"Packagist", "5.4.1", "5.4.10", -1},
		{"Packagist", "1.0.0-beta1", "1.0.0", -1},
		// RubyGems
		{"RubyGems", "1.0.0.pre", "1.0.0", -1},
		{"RubyGems", "1.10", "1.9", +1},
		{"RubyGems", "1.0.a", "1.0", -1},
		{"RubyGems", "6.1.7.3", "6.1.7.10", -1},
		{"RubyGems", "1.13.10", "1.13.9", +1},
		// Go modules and toolchain
		{"Go", "v1.2.3", "1.2.3", 0},
		{"Go", "v0.3.7", "0.3.8", -1},
		{"Go", "v0.0.0-20210101000000-abcdef123456", "0.0.0-20220906165146-f3363e06e74c", -1},
		{"Go", "0.0.0-20220906165146-f3363e06e74c", "0.0.0-20220906165146-f3363e06e74c", 0},
		{"Go", "v0.0.0-20220906165146-f3363e06e74c", "0.1.0", -1},
		{"Go", "v1.2.4-0.20210101000000-abcdef123456", "1.2.3", +1}, // pseudo-version on top of v1.2.3
		{"Go", "v1.2.4-0.20210101000000-abcdef123456", "1.2.4", -1},
		{"Go", "v2.0.0+incompatible", "2.0.0", 0},
		{"Go", "v17.12.0-ce-rc1.0.20200309214505-aa6a9891b09c+incompatible", "17.12.0", -1},
		{"Go", "go1.21.3", "1.21.3", 0},
		{"Go", "go1.21", "1.21.0", 0},
		{"Go", "go1.21rc2", "1.21.0-rc.2", 0},
		{"Go", "go1.21rc2", "1.21.0", -1},
		{"Go", "go1.20.14", "1.19.0-0", +1},
		{"Go", "1.19.0", "1.19.0-0", +1},
		{"Go", "1.26.8 X:boringcrypto", "1.26.8", 0},
		// OSV SEMVER ranges
		{"SEMVER", "1.2.3", "v1.2.4", -1},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.a+"_"+tt.b, func(t *testing.T) {
			got, err := compareVersions(tt.eco, tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			// Antisymmetry: the other way round gives the opposite.
			back, err := compareVersions(tt.eco, tt.b, tt.a)
			if err != nil {
				t.Fatal(err)
			}
			if back != -tt.want {
				t.Errorf("compare(%q, %q) = %d, want %d", tt.b, tt.a, back, -tt.want)
			}
		})
	}
}

func TestCompareVersionsErrors(t *testing.T) {
	for _, tt := range []struct{ eco, v string }{
		{"Debian:11", "a:1.0"}, // non-numeric epoch
		{"Debian:11", ""},      // empty
		{"Nonesuch", "1.0"},    // unknown ecosystem
	} {
		if _, err := parseVersion(tt.eco, tt.v); err == nil {
			t.Errorf("parseVersion(%q, %q): no error", tt.eco, tt.v)
		}
	}
}

func TestGoVersion(t *testing.T) {
	for in, want := range map[string]string{
		"go1.21.3":    "1.21.3",
		"go1.21":      "1.21.0",
		"go1":         "1.0.0",
		"go1.21rc2":   "1.21.0-rc.2",
		"go1.20beta1": "1.20.0-beta.1",
		"v1.2.3":      "1.2.3",
		"1.26.8":      "1.26.8",
	} {
		if got := goVersion(in); got != want {
			t.Errorf("goVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
