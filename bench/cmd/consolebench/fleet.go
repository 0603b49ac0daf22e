package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/fleet"
)

// The seeded fleet is a pure function of params: every asset, package,
// finding and event is derived from Seed and the index of the thing, so
// the seeding phases can regenerate an asset's findings instead of
// keeping a million of them in memory.

// params are the sizes of the seeded store; they name its cache entry.
type params struct {
	Assets   int `json:"assets"`   // hosts + containers + images
	Agents   int `json:"agents"`   // one per host: hosts = Agents
	Images   int `json:"images"`   // containers = Assets - Agents - Images
	Findings int `json:"findings"` // vulnerability findings (other kinds come on top)
	Vulns    int `json:"vulns"`    // distinct vulnerability IDs
	Events   int `json:"events"`
	// Packages per asset of each kind (more when the asset's
	// vulnerabilities name more packages).
	HostPackages      int    `json:"hostPackages"`
	ImagePackages     int    `json:"imagePackages"`
	ContainerPackages int    `json:"containerPackages"`
	Seed              uint64 `json:"seed"`
}

// seedVersion changes whenever the generator changes what it stores, so
// an old cache entry is not reused for a different data set.
const seedVersion = 1

// days is the simulated history: assets appear, are assessed and fixed
// over the days before the seeding day, one trend record per day.
const days = 30

func (p params) key() string {
	return fmt.Sprintf("v%d-a%d-h%d-i%d-f%d-v%d-e%d-p%d.%d.%d-s%d", seedVersion, p.Assets, p.Agents, p.Images,
		p.Findings, p.Vulns, p.Events, p.HostPackages, p.ImagePackages, p.ContainerPackages, p.Seed)
}

func (p params) containers() int { return p.Assets - p.Agents - p.Images }

func (p params) validate() error {
	switch {
	case p.Agents < 1 || p.Images < 0 || p.containers() < 0:
		return fmt.Errorf("want -agents ≥ 1 and -agents + -images ≤ -assets")
	case p.Vulns < 50:
		return fmt.Errorf("want -vulns ≥ 50")
	case p.Findings < 0 || p.Events < 0:
		return fmt.Errorf("negative sizes")
	case p.HostPackages < 1 || p.ImagePackages < 1 || p.ContainerPackages < 1:
		return fmt.Errorf("want at least one package per asset")
	}
	return nil
}

// The asset kinds by index: hosts first, then images, then containers.
func (g *gen) kind(i int) string {
	switch {
	case i < g.p.Agents:
		return "host"
	case i < g.p.Agents+g.p.Images:
		return "image"
	}
	return "container"
}

// gen derives the fleet from params.
type gen struct {
	p      params
	owner  []int32   // asset → its host (the host itself for hosts)
	owned  [][]int32 // host → its images and containers
	counts []int32   // asset → vulnerability findings
	hosts  []hostFacts
	ids    []string // asset IDs
	rules  []rule
}

// hostFacts are the facts a host passes to its containers and images.
type hostFacts struct {
	agentID, name, env, team, cloud, region, os, platform string
	exposed                                               bool // internet-facing: +10 risk
}

func newGen(p params) *gen {
	g := &gen{p: p}
	n := p.Assets
	g.owner = make([]int32, n)
	g.owned = make([][]int32, p.Agents)
	g.hosts = make([]hostFacts, p.Agents)
	g.ids = make([]string, n)
	r := g.rng("layout", 0)
	for h := range p.Agents {
		g.owner[h] = int32(h)
		g.hosts[h] = g.newHost(h)
	}
	for i := p.Agents; i < n; i++ {
		var h int
		if i < p.Agents+p.Images {
			h = (i - p.Agents) % p.Agents // images spread evenly
		} else {
			h = r.IntN(p.Agents)
		}
		g.owner[i] = int32(h)
		g.owned[h] = append(g.owned[h], int32(i))
	}
	for i := range n {
		h := g.hosts[g.owner[i]]
		g.ids[i] = fleet.AssetID(h.agentID, g.kind(i), g.localID(i))
	}
	g.counts = g.findingCounts()
	g.rules = make([]rule, p.Vulns)
	for i := range g.rules {
		g.rules[i] = g.newRule(i)
	}
	return g
}

// rng is the random source of one named thing.
func (g *gen) rng(what string, i int) *rand.Rand {
	h := sha256.Sum256([]byte(what + "\x00" + strconv.Itoa(i)))
	return rand.New(rand.NewPCG(g.p.Seed^binary.LittleEndian.Uint64(h[:8]), binary.LittleEndian.Uint64(h[8:16])))
}

// hexOf is a stable hex string of n bytes for the parts.
func hexOf(n int, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:n])
}

// pick returns one of the values by the weights (same length).
func pick[T any](r *rand.Rand, vals []T, weights []float64) T {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := r.Float64() * total
	for i, w := range weights {
		if x < w {
			return vals[i]
		}
		x -= w
	}
	return vals[len(vals)-1]
}

var (
	clouds       = []string{"aws", "azure", "gcp", "alibaba", "on-prem"}
	cloudWeights = []float64{40, 20, 15, 10, 15}
	regions      = map[string][]string{
		"aws":     {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"},
		"azure":   {"eastus", "westeurope", "southeastasia", "japaneast"},
		"gcp":     {"us-central1", "europe-west4", "asia-east1"},
		"alibaba": {"cn-hangzhou", "cn-shanghai", "cn-beijing", "ap-southeast-1"},
		"on-prem": {"dc-fra", "dc-sha", "dc-iad"},
	}
	hostOS        = []string{"debian 12", "debian 11", "ubuntu 22.04", "ubuntu 24.04", "rhel 9", "amzn 2023"}
	hostOSWeights = []float64{30, 10, 25, 10, 15, 10}
	imageOS       = []string{"debian 12", "alpine 3.20", "ubuntu 22.04", "debian 11", "rhel 9"}
	imageOSWeight = []float64{40, 30, 15, 10, 5}
	envs          = []string{"prod", "staging", "dev"}
	envWeights    = []float64{50, 20, 30}
	roles         = []string{"web", "api", "db", "cache", "worker", "k8s-node", "batch", "gateway", "build", "bastion"}
	roleWeights   = []float64{15, 15, 8, 5, 12, 30, 5, 4, 4, 2}
	ecosystems    = map[string]string{
		"debian 12": "Debian:12", "debian 11": "Debian:11", "ubuntu 22.04": "Ubuntu:22.04", "ubuntu 24.04": "Ubuntu:24.04",
		"rhel 9": "Red Hat:9", "amzn 2023": "Amazon Linux:2023", "alpine 3.20": "Alpine:v3.20",
	}
)

func (g *gen) newHost(h int) hostFacts {
	r := g.rng("host", h)
	cloud := pick(r, clouds, cloudWeights)
	env := pick(r, envs, envWeights)
	role := pick(r, roles, roleWeights)
	regs := regions[cloud]
	platform := "linux/amd64"
	if r.IntN(100) < 15 {
		platform = "linux/arm64"
	}
	return hostFacts{
		agentID: "agt-" + hexOf(10, "agent", strconv.FormatUint(g.p.Seed, 10), strconv.Itoa(h)),
		name:    fmt.Sprintf("%s-%s-%05d", env, role, h),
		env:     env, team: fmt.Sprintf("team-%02d", r.IntN(40)),
		cloud: cloud, region: regs[r.IntN(len(regs))],
		os: pick(r, hostOS, hostOSWeights), platform: platform,
		exposed: (role == "web" || role == "gateway" || role == "bastion") && r.IntN(100) < 70,
	}
}

// localID is the ID the agent gives the asset (machine ID, container ID,
// image digest).
func (g *gen) localID(i int) string {
	switch g.kind(i) {
	case "host":
		return hexOf(16, "machine", strconv.Itoa(i))
	case "image":
		return "sha256:" + hexOf(32, "image", strconv.Itoa(i))
	}
	return hexOf(32, "container", strconv.Itoa(i))
}

// app is the application of an image or container (200 of them).
func (g *gen) app(i int) string {
	return appNames[i%len(appNames)] + "-" + strconv.Itoa((i/len(appNames))%5)
}

var appNames = []string{
	"checkout", "cart", "payments", "search", "catalog", "inventory", "orders", "shipping", "users", "auth",
	"billing", "notifications", "recommendations", "reviews", "pricing", "gateway", "frontend", "admin",
	"reporting", "analytics", "ingest", "etl", "scheduler", "mailer", "media", "thumbnails", "chat", "audit",
	"ledger", "fraud", "risk", "kyc", "loyalty", "coupons", "geo", "tracking", "support", "cms", "wiki", "metrics",
}

// findingCounts spreads Findings over the assets: hosts carry about ten
// times a container's vulnerabilities and images about six times; one
// asset in ten has none. The total is exactly Findings.
func (g *gen) findingCounts() []int32 {
	n := g.p.Assets
	w := make([]float64, n)
	total := 0.0
	r := g.rng("counts", 0)
	for i := range n {
		base := map[string]float64{"host": 10, "image": 6.25, "container": 1}[g.kind(i)]
		f := 0.3 + 1.4*r.Float64()
		if r.IntN(10) == 0 {
			f = 0
		}
		w[i] = base * f
		total += w[i]
	}
	counts := make([]int32, n)
	if total == 0 {
		return counts
	}
	// At most a third of the vulnerabilities on one asset.
	limit := float64(g.p.Vulns / 3)
	sum := 0
	for i := range n {
		c := math.Min(math.Floor(w[i]/total*float64(g.p.Findings)), limit)
		counts[i] = int32(c)
		sum += int(c)
	}
	for i := 0; sum < g.p.Findings; i = (i + 7919) % n {
		if w[i] > 0 && float64(counts[i]) < limit {
			counts[i]++
			sum++
		}
	}
	return counts
}

// rule is one vulnerability: its ID and what every finding of it shares.
type rule struct {
	id, title    string
	pkg          int // index in packagePool
	sev          finding.Severity
	cvss         float64 // 0 when the advisory has none
	vector       string
	epss, pctile float64 // 0 when none
	kev          bool
	risk         float64 // before exposure
	alias        string
}

// The rule tiers, by index: one vulnerability in the C library of every
// distribution (1.5% of the findings), 20 in the most common libraries
// (6%), 1,000 common ones (32.5%), and the long tail.
func (g *gen) pickRule(r *rand.Rand) int {
	x := r.Float64()
	n := g.p.Vulns
	switch {
	case x < 0.015:
		return 0
	case x < 0.075:
		return 1 + r.IntN(min(20, n-1))
	case x < 0.40:
		lo := min(21, n-1)
		return lo + r.IntN(max(1, min(1000, n-lo)))
	}
	lo := min(1021, n-1)
	return lo + r.IntN(max(1, n-lo))
}

var (
	severities = []finding.Severity{finding.SeverityCritical, finding.SeverityHigh, finding.SeverityMedium, finding.SeverityLow, finding.SeverityUnknown}
	sevWeights = []float64{8, 27, 45, 15, 5}
	problems   = []string{"heap buffer overflow", "use after free", "out-of-bounds read", "integer overflow", "NULL pointer dereference",
		"denial of service via crafted input", "improper certificate validation", "path traversal", "request smuggling",
		"uncontrolled recursion", "information disclosure", "race condition", "signature verification bypass", "command injection"}
	components = []string{"the parser", "the TLS handshake", "the decoder", "the HTTP/2 implementation", "the command-line tool",
		"the DNS resolver", "the compression code", "the X.509 verifier", "the regular expression engine", "the session cache"}
)

func (g *gen) newRule(i int) rule {
	r := g.rng("rule", i)
	ru := rule{id: fmt.Sprintf("CVE-%d-%05d", 2014+i%12, 10000+i)} // unique by index
	switch {
	case i == 0:
		ru.pkg = 0
	case i <= 20:
		ru.pkg = i
	case i <= 1020:
		ru.pkg = r.IntN(popularPackages)
	default:
		ru.pkg = r.IntN(len(packagePool))
	}
	ru.sev = pick(r, severities, sevWeights)
	if i == 0 {
		ru.sev = finding.SeverityHigh
	}
	name := packagePool[ru.pkg].name
	ru.title = fmt.Sprintf("%s: %s in %s", name, problems[r.IntN(len(problems))], components[r.IntN(len(components))])
	ru.alias = fmt.Sprintf("GHSA-%s-%s-%s", hexOf(2, ru.id, "a")[:4], hexOf(2, ru.id, "b")[:4], hexOf(2, ru.id, "c")[:4])
	if ru.sev != finding.SeverityUnknown {
		lo := map[finding.Severity]float64{finding.SeverityCritical: 9.0, finding.SeverityHigh: 7.0, finding.SeverityMedium: 4.0, finding.SeverityLow: 0.1}[ru.sev]
		hi := map[finding.Severity]float64{finding.SeverityCritical: 10.0, finding.SeverityHigh: 8.9, finding.SeverityMedium: 6.9, finding.SeverityLow: 3.9}[ru.sev]
		ru.cvss = math.Round((lo+(hi-lo)*r.Float64())*10) / 10
		ru.vector = "CVSS:3.1/AV:N/AC:" + []string{"L", "H"}[r.IntN(2)] + "/PR:N/UI:" + []string{"N", "R"}[r.IntN(2)] + "/S:U/C:H/I:H/A:" + []string{"H", "L", "N"}[r.IntN(3)]
	}
	if r.IntN(100) < 70 {
		ru.epss = math.Round(math.Pow(r.Float64(), 4)*10000) / 10000
		ru.pctile = math.Round(math.Pow(r.Float64(), 0.5)*1000) / 1000
	}
	ru.kev = ru.sev >= finding.SeverityHigh && r.IntN(100) < 4
	// The risk as vuln.riskOf computes it, before exposure: CVSS × 10 (or
	// the severity's default), EPSS above the 70th percentile, KEV.
	risk := ru.cvss * 10
	if ru.cvss == 0 {
		risk = 50
	}
	if ru.pctile > 0.70 {
		risk += 20 * (ru.pctile - 0.70) / 0.30
	}
	if ru.kev {
		risk = math.Max(risk+25, 80)
	}
	ru.risk = risk
	return ru
}

// pkgInfo is a package name of the pool; lang is its ecosystem for
// language packages ("" for distribution packages, whose ecosystem is the
// asset's distribution).
type pkgInfo struct{ name, lang string }

// popularPackages is how many of the pool's first packages most assets
// have.
const popularPackages = 300

// packagePool holds 2,000 package names: real common ones first, then
// made-up libraries.
var packagePool = func() []pkgInfo {
	var pool []pkgInfo
	for _, n := range strings.Fields(`libc6 openssl libssl3 zlib1g curl libcurl4 libxml2 libexpat1 libsqlite3-0 libgnutls30
		libkrb5-3 libpcre2-8-0 bash coreutils tar gzip xz-utils libzstd1 libsystemd0 libudev1 systemd sudo openssh-client
		openssh-server git wget ca-certificates perl-base python3.11 libpython3.11 libgcrypt20 libgmp10 libnettle8 libtasn1-6
		libidn2-0 libssh2-1 libnghttp2-14 libldap-2.5-0 libsasl2-2 libdb5.3 libpam0g libcap2 libselinux1 libaudit1 login passwd
		util-linux mount libblkid1 libmount1 libuuid1 e2fsprogs libext2fs2 libcom-err2 libss2 procps libprocps8 ncurses-base
		libncursesw6 libtinfo6 readline-common libreadline8 gpgv gnupg libgnutls-openssl27 libjson-c5 libfreetype6 libpng16-16
		libjpeg62-turbo libtiff6 libwebp7 libx11-6 libxext6 fontconfig nginx apache2 libapr1 libaprutil1 postgresql-15 redis-server
		mariadb-server containerd runc docker-ce kubelet libseccomp2 iptables nftables libmnl0 libnftnl11 iproute2 dnsutils
		bind9-libs libuv1 nodejs python3-pip python3-urllib3 python3-requests python3-cryptography python3-yaml`) {
		pool = append(pool, pkgInfo{name: n})
	}
	lang := []pkgInfo{
		{"lodash", "npm"}, {"express", "npm"}, {"axios", "npm"}, {"minimist", "npm"}, {"semver", "npm"}, {"ws", "npm"},
		{"jsonwebtoken", "npm"}, {"node-fetch", "npm"}, {"qs", "npm"}, {"tar", "npm"}, {"follow-redirects", "npm"},
		{"requests", "PyPI"}, {"urllib3", "PyPI"}, {"jinja2", "PyPI"}, {"django", "PyPI"}, {"flask", "PyPI"},
		{"pillow", "PyPI"}, {"cryptography", "PyPI"}, {"pyyaml", "PyPI"}, {"werkzeug", "PyPI"}, {"setuptools", "PyPI"},
		{"golang.org/x/net", "Go"}, {"golang.org/x/crypto", "Go"}, {"golang.org/x/text", "Go"}, {"google.golang.org/grpc", "Go"},
		{"github.com/gin-gonic/gin", "Go"}, {"stdlib", "Go"}, {"google.golang.org/protobuf", "Go"},
		{"org.apache.logging.log4j:log4j-core", "Maven"}, {"com.fasterxml.jackson.core:jackson-databind", "Maven"},
		{"org.springframework:spring-web", "Maven"}, {"org.yaml:snakeyaml", "Maven"}, {"io.netty:netty-codec-http", "Maven"},
	}
	pool = append(pool, lang...)
	syll := []string{"ar", "bo", "cel", "da", "en", "fo", "gri", "ha", "io", "ju", "ka", "lo", "mi", "no", "pa", "qu", "ri", "su", "ta", "ve"}
	for i := 0; len(pool) < 2000; i++ {
		name := "lib" + syll[i%20] + syll[(i/20)%20] + syll[(i/400)%20]
		switch i % 5 {
		case 3:
			pool = append(pool, pkgInfo{name: strings.TrimPrefix(name, "lib") + "js", lang: "npm"})
		case 4:
			pool = append(pool, pkgInfo{name: "py" + strings.TrimPrefix(name, "lib"), lang: "PyPI"})
		default:
			pool = append(pool, pkgInfo{name: name + strconv.Itoa(i%3)})
		}
	}
	return pool
}()

// assetFacts are the stored facts of asset i.
type assetFacts struct {
	kind, name, os, ecosystem string
	host                      hostFacts
	labels                    map[string]string
	firstDay, lastDay         int  // first and last assessment (day index)
	twoSyncs                  bool // assessed twice: findings get fixed, open and new again
	gone                      bool
	exposure                  float64 // added to the risk of its findings
}

func (g *gen) asset(i int) assetFacts {
	r := g.rng("asset", i)
	h := g.hosts[g.owner[i]]
	a := assetFacts{kind: g.kind(i), host: h}
	switch a.kind {
	case "host":
		a.name, a.os = h.name, h.os
		a.labels = map[string]string{"env": h.env, "team": h.team, "role": strings.SplitN(h.name, "-", 3)[1]}
		a.firstDay = r.IntN(days / 2)
		if h.exposed {
			a.exposure = 10
		}
	case "image":
		app := g.app(i)
		a.name = fmt.Sprintf("registry.example.com/%s/%s:%d.%d.%d", h.team, app, r.IntN(5), r.IntN(30), r.IntN(100))
		a.os = pick(r, imageOS, imageOSWeight)
		a.labels = map[string]string{"team": h.team, "app": app}
		a.firstDay = r.IntN(days - 3)
	default:
		app := g.app(i)
		a.name = fmt.Sprintf("%s-%s-%s", app, hexOf(5, "rs", strconv.Itoa(i))[:9], hexOf(3, "pod", strconv.Itoa(i))[:5])
		a.os = pick(r, imageOS, imageOSWeight)
		a.labels = map[string]string{"env": h.env, "team": h.team, "app": app}
		a.firstDay = r.IntN(days - 3)
		a.gone = r.IntN(100) < 5
		if h.exposed {
			a.exposure = 5
		} else {
			a.exposure = -5
		}
	}
	a.ecosystem = ecosystems[a.os]
	a.twoSyncs = r.IntN(100) < 85
	a.lastDay = a.firstDay
	if a.twoSyncs {
		a.lastDay = a.firstDay + 1 + r.IntN(days-1-a.firstDay)
	}
	return a
}

// vulnFinding is one vulnerability finding of an asset and its fate.
type vulnFinding struct {
	rule     int
	risk     float64
	late     bool // first seen by the second assessment: new
	dropped  bool // gone at the second assessment: fixed
	accepted bool // accepted after the assessments
}

// vulns returns the vulnerability findings of asset i, distinct rules.
func (g *gen) vulns(i int, a assetFacts) []vulnFinding {
	n := int(g.counts[i])
	if n == 0 {
		return nil
	}
	r := g.rng("vulns", i)
	seen := make(map[int]bool, n)
	out := make([]vulnFinding, 0, n)
	for len(out) < n {
		ru := g.pickRule(r)
		if seen[ru] {
			continue
		}
		seen[ru] = true
		f := vulnFinding{rule: ru}
		f.risk = math.Round(math.Max(0, math.Min(100, g.rules[ru].risk+a.exposure+float64(r.IntN(5))-2))*10) / 10
		if a.twoSyncs {
			switch x := r.IntN(100); {
			case x < 6:
				f.late = true
			case x < 24:
				f.dropped = true
			}
		}
		f.accepted = !f.dropped && r.IntN(100) < 9
		out = append(out, f)
	}
	return out
}

// version is the installed version of a package on an OS, and the one
// that fixes a vulnerability in it.
func version(pkg, os string) (installed, fixed string) {
	h := sha256.Sum256([]byte(pkg + "\x00" + os))
	major, minor, patch, rev := int(h[0]%4), int(h[1]%30), int(h[2]%20), 1+int(h[3]%5)
	suffix := map[string]string{"debian 12": "+deb12u", "debian 11": "+deb11u", "ubuntu 22.04": "ubuntu0.22.04.",
		"ubuntu 24.04": "ubuntu0.24.04.", "rhel 9": ".el9_", "amzn 2023": ".amzn2023.", "alpine 3.20": "-r"}[os]
	installed = fmt.Sprintf("%d.%d.%d-%d%s%d", major, minor, patch, rev, suffix, int(h[4]%3))
	fixed = fmt.Sprintf("%d.%d.%d-%d%s%d", major, minor, patch+1, rev, suffix, 0)
	return installed, fixed
}
