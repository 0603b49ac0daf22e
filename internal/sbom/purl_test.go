package sbom

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/asset"
	"github.com/vigil-sec/vigil/internal/inventory"
)

func TestPURLMapping(t *testing.T) {
	tests := []struct {
		purl   string
		eco    inventory.Ecosystem
		name   string
		os     *asset.OS
		source *inventory.Source
	}{
		{"pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12", inventory.Debian, "curl", &asset.OS{ID: "debian", VersionID: "12"}, nil},
		{"pkg:deb/ubuntu/libc6@2.35?upstream=glibc%402.35-0ubuntu3&distro=ubuntu-22.04", inventory.Debian, "libc6", &asset.OS{ID: "ubuntu", VersionID: "22.04"}, &inventory.Source{Name: "glibc", Version: "2.35-0ubuntu3"}},
		{"pkg:deb/debian/bash@5.2?distro=bookworm", inventory.Debian, "bash", &asset.OS{ID: "debian", Codename: "bookworm"}, nil},
		{"pkg:rpm/rocky/bash@5.1.8-6.el9?distro=rocky-9.3&upstream=bash-5.1.8-6.el9.src.rpm", inventory.RPM, "bash", &asset.OS{ID: "rocky", VersionID: "9.3"}, &inventory.Source{Name: "bash", Version: "5.1.8-6.el9"}},
		{"pkg:rpm/opensuse/zlib@1.2.13?distro=opensuse-leap-15.5", inventory.RPM, "zlib", &asset.OS{ID: "opensuse-leap", VersionID: "15.5"}, nil},
		{"pkg:apk/alpine/libcrypto3@3.1.4-r5?upstream=openssl&distro=alpine-3.19.1", inventory.Alpine, "libcrypto3", &asset.OS{ID: "alpine", VersionID: "3.19.1"}, &inventory.Source{Name: "openssl"}},
		{"pkg:golang/github.com/spf13/cobra@v1.8.0", inventory.Go, "github.com/spf13/cobra", nil, nil},
		{"pkg:golang/stdlib@1.22.1", inventory.Go, "stdlib", nil, nil},
		{"pkg:npm/%40babel/core@7.26.0", inventory.Npm, "@babel/core", nil, nil},
		{"pkg:npm/left-pad@1.3.0", inventory.Npm, "left-pad", nil, nil},
		{"pkg:pypi/requests@2.32.3", inventory.PyPI, "requests", nil, nil},
		{"pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1", inventory.Maven, "org.apache.logging.log4j:log4j-core", nil, nil},
		{"pkg:cargo/serde@1.0.197", inventory.Cargo, "serde", nil, nil},
		{"pkg:gem/rack@3.0.9", inventory.RubyGems, "rack", nil, nil},
		{"pkg:composer/monolog/monolog@3.5.0", inventory.Packagist, "monolog/monolog", nil, nil},
		{"pkg:nuget/Newtonsoft.Json@13.0.3", inventory.NuGet, "Newtonsoft.Json", nil, nil},
		{"pkg:generic/openssl@3.0.13", inventory.Other, "openssl", nil, nil},
		{"pkg:hex/phoenix@1.7.11", inventory.Other, "phoenix", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.purl, func(t *testing.T) {
			p, ok := parsePURL(tt.purl)
			if !ok {
				t.Fatal("does not parse")
			}
			if got := ecosystemOf(p); got != tt.eco {
				t.Errorf("ecosystem = %q, want %q", got, tt.eco)
			}
			if got := purlName(p); got != tt.name {
				t.Errorf("name = %q, want %q", got, tt.name)
			}
			if diff := cmp.Diff(tt.os, distroOS(p)); diff != "" {
				t.Errorf("OS (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.source, upstreamSource(p)); diff != "" {
				t.Errorf("source (-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{"", "not a purl", "pkg:", "pkg:npm/", "https://example.invalid/x"} {
		if _, ok := parsePURL(bad); ok {
			t.Errorf("parsePURL(%q) ok, want not", bad)
		}
	}
}

func TestPackageName(t *testing.T) {
	tests := []struct {
		name, group string
		eco         inventory.Ecosystem
		purl        string
		want        string
	}{
		{"log4j-core", "org.apache.logging.log4j", inventory.Maven, "", "org.apache.logging.log4j:log4j-core"},
		{"log4j-core", "", inventory.Maven, "pkg:maven/org.apache.logging.log4j/log4j-core@2", "org.apache.logging.log4j:log4j-core"},
		{"g:a", "", inventory.Maven, "", "g:a"},
		{"core", "@angular", inventory.Npm, "", "@angular/core"},
		{"@angular/core", "", inventory.Npm, "pkg:npm/%40angular/core@17", "@angular/core"},
		{"core", "", inventory.Npm, "pkg:npm/%40angular/core@17", "@angular/core"},
		{"cobra", "", inventory.Go, "pkg:golang/github.com/spf13/cobra@v1", "github.com/spf13/cobra"},
		{"Flask", "", inventory.PyPI, "pkg:pypi/flask@3", "Flask"},
		{"", "", inventory.Npm, "pkg:npm/%40angular/core@17", "@angular/core"},
		{"libc6", "debian", inventory.Debian, "pkg:deb/debian/libc6@2", "libc6"},
	}
	for _, tt := range tests {
		p, ok := parsePURL(tt.purl)
		if got := packageName(tt.name, tt.group, tt.eco, p, ok); got != tt.want {
			t.Errorf("packageName(%q, %q, %s, %q) = %q, want %q", tt.name, tt.group, tt.eco, tt.purl, got, tt.want)
		}
	}
}
