package feed

import "strings"

// osvBucket is the public HTTPS endpoint of the osv-vulnerabilities bucket,
// which holds one all.zip per ecosystem.
const osvBucket = "https://osv-vulnerabilities.storage.googleapis.com/"

// osvEcosystems are the OSV ecosystems fetched by default, as the bucket
// names them.
var osvEcosystems = []string{
	"Go", "PyPI", "crates.io", "npm", "Maven", "RubyGems", "Packagist", "NuGet",
	"Debian", "Alpine",
}

// alpineReleases are the Alpine branches whose secdb files are fetched by
// default (main and community of each).
var alpineReleases = []string{"v3.20", "v3.21", "v3.22", "v3.23"}

// DefaultSources returns the public sources `vigil db update` fetches when
// none are configured. It is data only: calling it does no I/O. None of the
// public sources publishes a digest sidecar, so none has a digest; their
// integrity rests on TLS.
func DefaultSources() []Source {
	var srcs []Source
	for _, eco := range osvEcosystems {
		srcs = append(srcs, Source{
			Name: "osv-" + strings.ToLower(eco) + ".zip",
			Kind: KindOSV,
			URL:  osvBucket + eco + "/all.zip",
		})
	}
	const tracker = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data/"
	srcs = append(srcs,
		Source{Name: "debian-dsa.list", Kind: KindDebian, URL: tracker + "DSA/list"},
		Source{Name: "debian-dla.list", Kind: KindDebian, URL: tracker + "DLA/list"},
	)
	for _, rel := range alpineReleases {
		for _, repo := range []string{"main", "community"} {
			srcs = append(srcs, Source{
				Name: "alpine-" + rel + "-" + repo + ".json",
				Kind: KindAlpine,
				URL:  "https://secdb.alpinelinux.org/" + rel + "/" + repo + ".json",
			})
		}
	}
	srcs = append(srcs,
		Source{Name: "epss.csv.gz", Kind: KindEPSS, URL: "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"},
		Source{Name: "kev.json", Kind: KindKEV, URL: "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"},
	)
	return srcs
}
