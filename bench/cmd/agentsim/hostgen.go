package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/agentpb"
	"github.com/vigil-sec/vigil/internal/inventory"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The synthetic fleet: every simulated host is derived from (seed, index),
// so two runs with the same flags send the same inventory. Hosts share
// package names and versions the way a real fleet does (a few operating
// systems at a few patch levels), which also lets the generator build each
// distinct package record once and share it between hosts' messages.

// osProfile is one operating system of the fleet.
type osProfile struct {
	name      string // the asset's OS, "debian 12"
	eco       inventory.Ecosystem
	purlType  string // deb, rpm, apk
	distro    string // the purl distro qualifier
	extractor string
	dbPath    string
	verFmt    func(major, minor, patch, rev int) string
}

var osProfiles = []osProfile{
	{"debian 12", inventory.Debian, "deb", "debian-12", "os/dpkg", "/var/lib/dpkg/status",
		func(a, b, c, r int) string { return fmt.Sprintf("%d.%d.%d-%d+deb12u%d", a, b, c, 1+r%3, r) }},
	{"ubuntu 22.04", inventory.Debian, "deb", "ubuntu-22.04", "os/dpkg", "/var/lib/dpkg/status",
		func(a, b, c, r int) string { return fmt.Sprintf("%d.%d.%d-%dubuntu0.22.04.%d", a, b, c, 1+r%3, r) }},
	{"rhel 9", inventory.RPM, "rpm", "rhel-9", "os/rpm", "/var/lib/rpm/rpmdb.sqlite",
		func(a, b, c, r int) string { return fmt.Sprintf("%d.%d.%d-%d.el9_%d", a, b, c, 1+r%5, r) }},
	{"alpine 3.19", inventory.Alpine, "apk", "alpine-3.19", "os/apk", "/lib/apk/db/installed",
		func(a, b, c, r int) string { return fmt.Sprintf("%d.%d.%d-r%d", a, b, c, r) }},
	{"amzn 2023", inventory.RPM, "rpm", "amzn-2023", "os/rpm", "/var/lib/rpm/rpmdb.sqlite",
		func(a, b, c, r int) string { return fmt.Sprintf("%d.%d.%d-%d.amzn2023.0.%d", a, b, c, 1+r%5, r) }},
}

type cloudProfile struct {
	name    string
	regions []string
}

var clouds = []cloudProfile{
	{"aws", []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"}},
	{"gcp", []string{"us-central1", "europe-west1", "asia-east1"}},
	{"azure", []string{"eastus", "westeurope", "southeastasia"}},
	{"on-prem", []string{"dc-paris", "dc-frankfurt"}},
}

var (
	roles    = []string{"web", "api", "db", "cache", "worker", "batch", "k8s-node", "ci-runner", "bastion", "mq"}
	envs     = []string{"prod", "prod", "prod", "staging", "dev"}
	teams    = []string{"payments", "search", "platform", "identity", "data", "growth", "infra", "mobile"}
	apps     = []string{"nginx", "envoy", "redis", "postgres", "kafka", "checkout", "cart", "auth", "search", "ingest", "grafana", "prometheus", "fluentd", "node-exporter"}
	users    = []string{"root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data", "backup", "list", "irc", "nobody", "systemd-network", "systemd-resolve", "messagebus", "sshd", "chrony", "postfix", "ubuntu", "deploy", "ansible", "monitoring", "app", "svc-backup", "admin"}
	services = []string{"ssh", "cron", "rsyslog", "systemd-journald", "systemd-logind", "systemd-udevd", "systemd-networkd", "systemd-resolved", "dbus", "chrony", "containerd", "docker", "kubelet", "node-exporter", "nginx", "postfix", "unattended-upgrades", "getty@tty1", "serial-getty@ttyS0", "polkit", "snapd", "multipathd", "irqbalance", "auditd", "fluent-bit", "cloud-init", "cloud-config", "cloud-final", "apparmor", "ufw", "atd", "lvm2-monitor", "rpcbind", "networkd-dispatcher", "vigil-agent"}
	binaries = []string{"nginx", "sshd", "bash", "python3", "java", "node", "postgres", "redis-server", "containerd-shim", "dockerd", "kubelet", "envoy", "systemd", "cron", "rsyslogd", "chronyd", "sleep", "sh", "gunicorn", "celery"}
	evKinds  = []struct {
		kind, sev string
		weight    int
	}{{"process.exec", "info", 70}, {"net.connect", "info", 15}, {"file.write", "low", 10}, {"auth.login", "medium", 4}, {"process.privesc", "high", 1}}
)

// pkgNames is the fleet's package name universe: real-looking names, the
// first ones the most common (every host has the first 500).
var pkgNames = func() []string {
	r := rand.New(rand.NewPCG(1, 2))
	pre := []string{"lib", "lib", "lib", "", "", "python3-", "perl-", "golang-", "node-", "ruby-", "fonts-", "xserver-"}
	syl := []string{"ssl", "crypt", "z", "xml", "curl", "gnu", "tls", "sys", "ext", "sql", "pam", "acl", "attr", "cap", "ffi", "gmp", "idn", "krb", "ldap", "lz", "magic", "ncurses", "nss", "pcre", "png", "jpeg", "readline", "selinux", "systemd", "udev", "uuid", "yaml", "zstd", "bz", "expat", "gcrypt", "gpg", "hogweed", "nettle", "p11", "seccomp", "smart", "tasn", "tinfo", "unistring", "audit", "blkid", "mount", "dbus", "glib", "http", "json", "lua", "apt", "dpkg", "rpm", "util", "core", "tools", "common", "data", "base", "bin", "dev", "doc"}
	seen := map[string]bool{}
	var out []string
	for len(out) < 4000 {
		n := pre[r.IntN(len(pre))] + syl[r.IntN(len(syl))]
		if r.IntN(2) == 0 {
			n += syl[r.IntN(len(syl))]
		}
		if r.IntN(3) == 0 {
			n += strconv.Itoa(r.IntN(12))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}()

// pkgKey names one distinct package record.
type pkgKey struct {
	os, name, level, bump int
}

// pkgCache builds each distinct package record once; messages share them
// (protobuf messages are safe to marshal concurrently).
type pkgCache struct {
	mu sync.Mutex
	m  map[pkgKey]*agentpb.Package
}

func newPkgCache() *pkgCache { return &pkgCache{m: map[pkgKey]*agentpb.Package{}} }

func (c *pkgCache) get(k pkgKey) *agentpb.Package {
	c.mu.Lock()
	p := c.m[k]
	c.mu.Unlock()
	if p != nil {
		return p
	}
	p = buildPackage(k)
	c.mu.Lock()
	c.m[k] = p
	c.mu.Unlock()
	return p
}

func buildPackage(k pkgKey) *agentpb.Package {
	prof := osProfiles[k.os]
	name := pkgNames[k.name]
	h := fnv.New64a()
	h.Write([]byte(name))
	v := h.Sum64()
	major, minor, patch := int(v%9), int(v>>8%30), int(v>>16%20)
	rev := k.level + k.bump
	p := inventory.Package{Name: name, Ecosystem: prof.eco, Extractor: prof.extractor,
		Locations: []inventory.Location{{Path: prof.dbPath}}, Licenses: []string{licences[v>>24%uint64(len(licences))]},
		Metadata: map[string]string{"arch": "amd64"}}
	// The last tenth of the universe is language packages found in
	// binaries and site-packages.
	switch {
	case k.name%10 == 7:
		p.Ecosystem, p.Extractor = inventory.PyPI, "python/wheelegg"
		p.Version = fmt.Sprintf("%d.%d.%d", major, minor, patch+rev)
		p.Locations = []inventory.Location{{Path: "/usr/lib/python3/dist-packages/" + name + "-" + p.Version + ".dist-info/METADATA"}}
		p.PURL = "pkg:pypi/" + name + "@" + p.Version
		p.Metadata = nil
	case k.name%20 == 9:
		p.Ecosystem, p.Extractor = inventory.Go, "go/binary"
		p.Name = "github.com/" + teams[v%uint64(len(teams))] + "/" + name
		p.Version = fmt.Sprintf("v%d.%d.%d", major, minor, patch+rev)
		p.Locations = []inventory.Location{{Path: "/usr/local/bin/" + name}}
		p.PURL = "pkg:golang/" + p.Name + "@" + p.Version
		p.Metadata = map[string]string{"goVersion": "go1.22.5"}
	default:
		p.Version = prof.verFmt(major, minor, patch, rev)
		p.Source = &inventory.Source{Name: strings.TrimPrefix(name, "lib"), Version: p.Version}
		p.PURL = "pkg:" + prof.purlType + "/" + strings.SplitN(prof.distro, "-", 2)[0] + "/" + name + "@" + p.Version + "?arch=amd64&distro=" + prof.distro
	}
	p.ComputeID()
	data, err := json.Marshal(p)
	if err != nil {
		panic(err) // a fixed struct of strings always marshals
	}
	return &agentpb.Package{Id: p.ID, Name: p.Name, Version: p.Version, Ecosystem: string(p.Ecosystem), Purl: p.PURL, Data: data}
}

var licences = []string{"GPL-2.0-or-later", "LGPL-2.1-or-later", "MIT", "BSD-3-Clause", "Apache-2.0", "OpenSSL", "Zlib", "GPL-3.0-or-later"}

// host is one simulated host's inventory state. Only its agent's goroutine
// touches it.
type host struct {
	idx      int
	seed     uint64
	r        *rand.Rand
	os       int
	level    int // the host's patch level: how far behind its packages are
	hostname string
	cloud    string
	region   string
	labels   map[string]string
	npkgs    int
	bumps    map[int]int // package name index → upgrades since the snapshot
	procs    []proc      // live processes, oldest first
	nextPID  int
	conts    []container
	images   []image
}

type proc struct {
	pid   int
	start uint64
	bin   int
	user  int
}

type container struct {
	id, name, app string
	image         int
}

type image struct {
	id, name string
}

// fleetShape holds the generator's parameters.
type fleetShape struct {
	seed                 uint64
	minPkgs, maxPkgs     int
	procs                int // processes per host; ports, users and services come on top (~200 items)
	containers, images   int
	eventBytes           int
	deltaProcs           int     // processes replaced per delta
	deltaPkgShare        float64 // share of deltas that upgrade packages
	deltaPkgsPerUpgrade  int
	containerChurnChance float64
}

func newHost(s *fleetShape, idx int) *host {
	r := rand.New(rand.NewPCG(s.seed, uint64(idx)))
	h := &host{idx: idx, seed: s.seed, r: r, os: r.IntN(len(osProfiles)), level: r.IntN(4), bumps: map[int]int{}, nextPID: 300}
	cl := clouds[r.IntN(len(clouds))]
	h.cloud, h.region = cl.name, cl.regions[r.IntN(len(cl.regions))]
	role, env := roles[r.IntN(len(roles))], envs[r.IntN(len(envs))]
	h.hostname = fmt.Sprintf("%s-%05d.%s.%s", role, idx, h.region, env)
	h.labels = map[string]string{"env": env, "role": role, "team": teams[r.IntN(len(teams))]}
	h.npkgs = s.minPkgs
	if s.maxPkgs > s.minPkgs {
		h.npkgs += r.IntN(s.maxPkgs - s.minPkgs + 1)
	}
	h.npkgs = min(h.npkgs, len(pkgNames))
	for range s.procs {
		h.procs = append(h.procs, h.newProc())
	}
	for i := range s.images {
		app := apps[r.IntN(len(apps))]
		h.images = append(h.images, image{id: "sha256:" + h.hexID(), name: fmt.Sprintf("registry.example.internal/%s/%s:%d.%d.%d", h.labels["team"], app, r.IntN(5), r.IntN(20), i)})
	}
	for range s.containers {
		h.conts = append(h.conts, h.newContainer(s))
	}
	return h
}

func (h *host) hexID() string {
	var b [32]byte
	for i := range 4 {
		v := h.r.Uint64()
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(b[:])
}

func (h *host) newProc() proc {
	h.nextPID += 1 + h.r.IntN(40)
	return proc{pid: h.nextPID, start: uint64(h.nextPID) * 97, bin: h.r.IntN(len(binaries)), user: h.r.IntN(6)}
}

func (h *host) newContainer(s *fleetShape) container {
	im := 0
	if len(h.images) > 0 {
		im = h.r.IntN(len(h.images))
	}
	app := apps[h.r.IntN(len(apps))]
	return container{id: h.hexID(), name: fmt.Sprintf("%s-%s", app, h.hexID()[:5]), app: app, image: im}
}

func (h *host) hostRecord() *agentpb.AssetRecord {
	prof := osProfiles[h.os]
	attrs := fmt.Sprintf(`{"os":{"id":%q,"versionId":%q,"prettyName":%q},"kernel":{"release":"6.1.0-%d-cloud-amd64","arch":"x86_64"},"ips":["10.%d.%d.%d"],"machineId":%q}`,
		strings.Fields(prof.name)[0], strings.Fields(prof.name)[1], prof.name, 10+h.level, h.idx>>16&255, h.idx>>8&255, h.idx&255, fmt.Sprintf("%032x", h.seed*1_000_003+uint64(h.idx)))
	return &agentpb.AssetRecord{Id: "host", Kind: "host", Name: h.hostname, Os: prof.name, Platform: "linux/amd64",
		Cloud: h.cloud, Region: h.region, Labels: h.labels, Attrs: []byte(attrs)}
}

func (h *host) containerRecord(c container) *agentpb.AssetRecord {
	im := h.images[c.image]
	attrs := fmt.Sprintf(`{"id":%q,"name":"/%s","image":%q,"imageId":%q,"state":"running","runtime":"docker"}`, c.id, c.name, im.name, im.id)
	return &agentpb.AssetRecord{Id: "container:" + c.id, Kind: "container", Name: c.name, ParentId: "host",
		Os: osProfiles[h.os].name, Platform: "linux/amd64", Cloud: h.cloud, Region: h.region,
		Labels: map[string]string{"app": c.app, "env": h.labels["env"], "com.docker.compose.service": c.app}, Attrs: []byte(attrs)}
}

func (h *host) imageRecord(im image) *agentpb.AssetRecord {
	attrs := fmt.Sprintf(`{"id":%q,"repoTags":[%q],"size":%d}`, im.id, im.name, 20_000_000+h.r.IntN(500_000_000))
	return &agentpb.AssetRecord{Id: "image:" + im.id, Kind: "image", Name: im.name, ParentId: "host", Platform: "linux/amd64",
		Cloud: h.cloud, Region: h.region, Attrs: []byte(attrs)}
}

func (h *host) packages(c *pkgCache) []*agentpb.Package {
	out := make([]*agentpb.Package, h.npkgs)
	for j := range h.npkgs {
		out[j] = c.get(pkgKey{os: h.os, name: j, level: h.level, bump: h.bumps[j]})
	}
	return out
}

func (h *host) procItem(p proc) *agentpb.Item {
	bin := binaries[p.bin]
	data := fmt.Sprintf(`{"pid":%d,"ppid":1,"name":%q,"exe":"/usr/bin/%s","cmdline":["/usr/bin/%s","--config","/etc/%s/%s.conf"],"uid":%d,"euid":%d,"gid":%d,"user":%q,"start_ticks":%d,"rss_bytes":%d,"state":"S"}`,
		p.pid, bin, bin, bin, bin, bin, p.user*1000, p.user*1000, p.user*1000, users[p.user], p.start, 4_000_000+p.pid*1_000)
	return &agentpb.Item{Kind: "process", Key: strconv.Itoa(p.pid) + "@" + strconv.FormatUint(p.start, 10), Data: []byte(data)}
}

// itemKinds are the kinds the snapshot lists in full.
var itemKinds = []string{"process", "port", "user", "service"}

func (h *host) items() []*agentpb.Item {
	var out []*agentpb.Item
	for _, p := range h.procs {
		out = append(out, h.procItem(p))
	}
	for i := range 15 {
		port := []int{22, 80, 443, 8080, 9100, 5432, 6379, 9090, 3000, 8443, 53, 123, 25, 111, 10250}[i]
		proto := "tcp"
		if port == 53 || port == 123 {
			proto = "udp"
		}
		data := fmt.Sprintf(`{"proto":%q,"address":"0.0.0.0","port":%d,"uid":0,"pid":%d,"process":%q}`, proto, port, 300+i*7, binaries[i%len(binaries)])
		out = append(out, &agentpb.Item{Kind: "port", Key: fmt.Sprintf("%s/0.0.0.0:%d", proto, port), Data: []byte(data)})
	}
	for i, u := range users {
		uid := i
		if i >= 25 {
			uid = 1000 + i
		}
		data := fmt.Sprintf(`{"name":%q,"uid":%d,"gid":%d,"gecos":"%s,,,","home":"/home/%s","shell":"/bin/bash"}`, u, uid, uid, u, u)
		out = append(out, &agentpb.Item{Kind: "user", Key: u, Data: []byte(data)})
	}
	for _, s := range services {
		data := fmt.Sprintf(`{"name":"%s.service","state":"enabled","unitFile":"/lib/systemd/system/%s.service","execStart":"/usr/sbin/%s"}`, s, s, s)
		out = append(out, &agentpb.Item{Kind: "service", Key: s + ".service", Data: []byte(data)})
	}
	return out
}

// snapshot is the host's first inventory: every asset, the host's packages
// and items in full.
func (h *host) snapshot(c *pkgCache) *agentpb.Inventory {
	hr := h.hostRecord()
	hr.PackagesFull = true
	hr.Packages = h.packages(c)
	hr.ItemKinds = itemKinds
	hr.Items = h.items()
	inv := &agentpb.Inventory{FullKinds: []string{"host", "container", "image"}, Assets: []*agentpb.AssetRecord{hr}}
	inv.Assets = append(inv.Assets, h.others()...)
	return inv
}

func (h *host) others() []*agentpb.AssetRecord {
	var out []*agentpb.AssetRecord
	for _, c := range h.conts {
		out = append(out, h.containerRecord(c))
	}
	for _, im := range h.images {
		out = append(out, h.imageRecord(im))
	}
	return out
}

// delta is what the real agent sends after a collection in which a few
// things changed: every live asset's metadata (full_kinds), the processes
// that ended and started, now and then upgraded packages and a replaced
// container. It reports the number of packages changed.
func (h *host) delta(s *fleetShape, c *pkgCache) (*agentpb.Inventory, int) {
	hr := h.hostRecord()
	n := min(s.deltaProcs, len(h.procs))
	for _, p := range h.procs[:n] {
		k := h.procItem(p)
		hr.RemovedItems = append(hr.RemovedItems, &agentpb.ItemKey{Kind: "process", Key: k.Key})
	}
	h.procs = append(h.procs[:0:0], h.procs[n:]...)
	for range n {
		p := h.newProc()
		h.procs = append(h.procs, p)
		hr.Items = append(hr.Items, h.procItem(p))
	}
	changed := 0
	if h.r.Float64() < s.deltaPkgShare {
		for range s.deltaPkgsPerUpgrade {
			j := h.r.IntN(h.npkgs)
			old := c.get(pkgKey{os: h.os, name: j, level: h.level, bump: h.bumps[j]})
			h.bumps[j]++
			hr.RemovedPackages = append(hr.RemovedPackages, old.Id)
			hr.Packages = append(hr.Packages, c.get(pkgKey{os: h.os, name: j, level: h.level, bump: h.bumps[j]}))
			changed++
		}
	}
	if len(h.conts) > 0 && h.r.Float64() < s.containerChurnChance {
		i := h.r.IntN(len(h.conts))
		h.conts[i] = h.newContainer(s)
	}
	inv := &agentpb.Inventory{FullKinds: []string{"host", "container", "image"}, Assets: []*agentpb.AssetRecord{hr}}
	inv.Assets = append(inv.Assets, h.others()...)
	return inv, changed
}

// events makes n events the host saw.
func (h *host) events(n int, now time.Time, size int) []*agentpb.Event {
	out := make([]*agentpb.Event, n)
	total := 0
	for _, k := range evKinds {
		total += k.weight
	}
	for i := range out {
		w := h.r.IntN(total)
		k := evKinds[0]
		for _, c := range evKinds {
			if w < c.weight {
				k = c
				break
			}
			w -= c.weight
		}
		bin := binaries[h.r.IntN(len(binaries))]
		data := fmt.Sprintf(`{"pid":%d,"ppid":%d,"exe":"/usr/bin/%s","cmdline":"%s --run job-%d","uid":%d,"cwd":"/srv/%s"`,
			h.r.IntN(60000)+300, h.r.IntN(3000)+1, bin, bin, h.r.IntN(1_000_000), h.r.IntN(2)*1000, bin)
		if pad := size - len(data) - 2; pad > 12 {
			data += `,"x":"` + strings.Repeat("a", pad-8) + `"`
		}
		data += "}"
		ev := &agentpb.Event{Kind: k.kind, Severity: k.sev, AssetId: "host", Data: []byte(data)}
		if len(h.conts) > 0 && h.r.IntN(3) == 0 {
			ev.AssetId = "container:" + h.conts[h.r.IntN(len(h.conts))].id
		}
		ev.Time = timestamppb.New(now)
		out[i] = ev
	}
	return out
}
