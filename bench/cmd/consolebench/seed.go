package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/api"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
	"github.com/vigil-sec/vigil/internal/store"
	"github.com/vigil-sec/vigil/internal/vuln"
)

// The bench's admin. The store is a local benchmark file, never a server
// anyone else reaches; the password is in seed.json for the measurement.
const (
	adminName     = "admin"
	adminPassword = "console-bench-admin-1"
)

// seedInfo is seed.json: what was stored and how long it took.
type seedInfo struct {
	Params        params         `json:"params"`
	Key           string         `json:"key"`
	AdminName     string         `json:"adminName"`
	AdminPassword string         `json:"adminPassword"`
	Started       time.Time      `json:"started"`
	BaseDay       string         `json:"baseDay"` // the seeding day; the history is the 30 days before it
	Seconds       float64        `json:"seconds"`
	Phases        []phase        `json:"phases"`
	Counts        map[string]int `json:"counts"`
	DBBytes       int64          `json:"dbBytes"`
	Machine       machine        `json:"machine"`
	Go            string         `json:"go"`
}

// phase is one seeding step.
type phase struct {
	Name    string  `json:"name"`
	Calls   int     `json:"calls"` // store method calls
	Seconds float64 `json:"seconds"`
}

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("consolebench seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache := fs.String("cache", "", "cache directory: the store is built in (or reused from) DIR/<key>/")
	var p params
	fs.IntVar(&p.Assets, "assets", 100_000, "assets: hosts, images and containers")
	fs.IntVar(&p.Agents, "agents", 5_000, "agents, one per host (so also the hosts)")
	fs.IntVar(&p.Images, "images", 20_000, "images (the rest of -assets are containers)")
	fs.IntVar(&p.Findings, "findings", 1_000_000, "vulnerability findings")
	fs.IntVar(&p.Vulns, "vulns", 20_000, "distinct vulnerability IDs")
	fs.IntVar(&p.Events, "events", 200_000, "events")
	fs.IntVar(&p.HostPackages, "host-packages", 60, "packages per host")
	fs.IntVar(&p.ImagePackages, "image-packages", 30, "packages per image")
	fs.IntVar(&p.ContainerPackages, "container-packages", 6, "packages per container")
	fs.Uint64Var(&p.Seed, "seed", 1, "random seed")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the seeding to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *cache == "" {
		return fmt.Errorf("seed: -cache is required")
	}
	if err := p.validate(); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	dir := filepath.Join(*cache, "console", p.key())
	if _, err := os.Stat(filepath.Join(dir, "seed.json")); err == nil {
		fmt.Fprintf(stderr, "consolebench: reusing the seeded store %s\n", dir)
		fmt.Fprintln(stdout, dir)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), p.key()+".partial-")
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "consolebench: seeding %s (a few minutes)\n", tmp)
	info, err := seed(ctx, p, filepath.Join(tmp, "vigil.db"), stderr)
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("seed: %w", err)
	}
	if err := writeJSON(filepath.Join(tmp, "seed.json"), info); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	fmt.Fprintln(stdout, dir)
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// seeder fills one store through its public methods.
type seeder struct {
	ctx    context.Context
	g      *gen
	db     *store.DB
	start  time.Time
	base   time.Time // 00:00 UTC of the seeding day
	log    io.Writer
	info   *seedInfo
	counts map[string]int
}

func seed(ctx context.Context, p params, path string, log io.Writer) (*seedInfo, error) {
	start := time.Now()
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	s := &seeder{ctx: ctx, db: db, start: start, base: start.UTC().Truncate(24 * time.Hour), log: log, counts: map[string]int{}}
	s.info = &seedInfo{Params: p, Key: p.key(), AdminName: adminName, AdminPassword: adminPassword, Started: start.UTC(),
		BaseDay: s.base.Format(time.DateOnly), Machine: machineInfo(), Go: runtime.Version()}
	t := time.Now()
	s.g = newGen(p)
	s.done("generate the layout", 0, t)
	steps := []func() error{s.users, s.agents, s.inventory, s.assess, s.accept, s.events, s.audit}
	for _, step := range steps {
		if err := step(); err != nil {
			db.Close()
			return nil, err
		}
		if ctx.Err() != nil {
			db.Close()
			return nil, ctx.Err()
		}
	}
	if err := db.Close(); err != nil { // checkpoints the WAL into the file
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s.info.DBBytes = st.Size()
	s.info.Seconds = time.Since(start).Seconds()
	s.info.Counts = s.counts
	return s.info, nil
}

func (s *seeder) done(name string, calls int, since time.Time) {
	ph := phase{Name: name, Calls: calls, Seconds: time.Since(since).Seconds()}
	s.info.Phases = append(s.info.Phases, ph)
	fmt.Fprintf(s.log, "consolebench: %-28s %8d calls %8.1f s\n", name, calls, ph.Seconds)
}

// dayTime is noon of day d of the history, plus a few minutes.
func (s *seeder) dayTime(d, minutes int) time.Time {
	return s.base.AddDate(0, 0, d-days).Add(12*time.Hour + time.Duration(minutes%600)*time.Minute)
}

// users: the admin, 24 other users, 40 API tokens, 80 enrollment tokens.
func (s *seeder) users() error {
	t := time.Now()
	ctx, calls := s.ctx, 0
	if _, err := api.EnsureAdmin(ctx, s.db, adminName, adminPassword); err != nil {
		return err
	}
	calls++
	r := s.g.rng("users", 0)
	var ids []int64
	roles := []store.Role{store.RoleAnalyst, store.RoleReadOnly, store.RoleAdmin}
	for i := range 24 {
		u, err := s.db.CreateUser(ctx, store.User{Name: fmt.Sprintf("user-%02d", i), Role: roles[i%3],
			PasswordHash: "!", Disabled: i%8 == 7, CreatedAt: s.dayTime(r.IntN(days), i)})
		if err != nil {
			return err
		}
		ids = append(ids, u.ID)
		calls++
	}
	for i := range 40 {
		h := sha256.Sum256([]byte("api token " + strconv.Itoa(i)))
		tok := store.Token{UserID: ids[i%len(ids)], Name: fmt.Sprintf("ci-token-%02d", i), Hash: h[:],
			Scopes: []string{"read"}, CreatedAt: s.dayTime(r.IntN(days), i), ExpiresAt: s.start.AddDate(0, 0, 90)}
		if i%4 == 0 {
			tok.Scopes = []string{"read", "write"}
		}
		if _, err := s.db.CreateToken(ctx, tok); err != nil {
			return err
		}
		calls++
	}
	for i := range 80 {
		h := sha256.Sum256([]byte("enroll token " + strconv.Itoa(i)))
		et := store.EnrollToken{Name: fmt.Sprintf("rollout-%02d", i), Hash: h[:], Labels: map[string]string{"env": envs[i%3]},
			ExpiresAt: s.dayTime(i%days+2, i), MaxUses: 100 * (i % 3), CreatedBy: "user:admin", CreatedAt: s.dayTime(i%days, i)}
		if i%5 == 0 {
			et.ExpiresAt = s.start.AddDate(0, 0, 7)
		}
		created, err := s.db.CreateEnrollToken(ctx, et)
		if err != nil {
			return err
		}
		calls++
		if i%7 == 3 {
			if err := s.db.RevokeEnrollToken(ctx, created.ID, s.dayTime(i%days+1, i)); err != nil {
				return err
			}
			calls++
		}
	}
	s.counts["users"] = 25
	s.counts["apiTokens"] = 40
	s.counts["enrollmentTokens"] = 80
	s.done("users and tokens", calls, t)
	return nil
}

// agents: one per host. Most are online: they never go silent while the
// server runs (a heartbeat of a year, since the seeded store is reused
// for weeks); 4% are silent, 2% revoked.
func (s *seeder) agents() error {
	t := time.Now()
	versions := []string{"0.9.0", "0.9.1", "0.10.0"}
	for h := range s.g.p.Agents {
		hf := s.g.hosts[h]
		a := s.g.asset(h)
		r := s.g.rng("agent", h)
		stats, _ := json.Marshal(map[string]any{"cpuSeconds": float64(r.IntN(50000)) / 10, "rssBytes": 30<<20 + r.IntN(40<<20),
			"spooled": 0, "replayed": r.IntN(3), "dropped": 0})
		ag := store.Agent{ID: hf.agentID, Hostname: hf.name, Version: pick(r, versions, []float64{10, 30, 60}),
			Labels: map[string]string{"env": hf.env, "team": hf.team}, AssetID: s.g.ids[h],
			EnrolledAt: s.dayTime(a.firstDay, h), LastSeen: s.start, Heartbeat: 365 * 24 * time.Hour,
			CertSerial: hexOf(16, "serial", hf.agentID), CertNotAfter: s.start.AddDate(0, 0, 30), LastSeq: 0, Stats: stats}
		switch x := r.IntN(100); {
		case x < 4:
			ag.LastSeen, ag.Heartbeat, ag.Silent = s.dayTime(days-2, h), 30*time.Second, true
			s.counts["agentsSilent"]++
		case x < 6:
			rev := s.dayTime(days-5, h)
			ag.LastSeen, ag.RevokedAt = rev, &rev
			s.counts["agentsRevoked"]++
		}
		if _, err := s.db.CreateAgent(s.ctx, ag); err != nil {
			return err
		}
	}
	s.counts["agents"] = s.g.p.Agents
	s.done("agents", s.g.p.Agents, t)
	return nil
}

// inventory: one Ingest per agent with its host, images and containers,
// their packages and the host's inventory items; 5% of the containers
// are gone.
func (s *seeder) inventory() error {
	t := time.Now()
	calls := 0
	for h := range s.g.p.Agents {
		agentID := s.g.hosts[h].agentID
		members := append([]int32{int32(h)}, s.g.owned[h]...)
		_, err := s.db.Ingest(s.ctx, agentID, 1, func(in store.Ingester) error {
			var keep []string
			for _, m := range members {
				i := int(m)
				a := s.g.asset(i)
				if err := in.UpsertAsset(s.ctx, s.storeAsset(i, a)); err != nil {
					return err
				}
				pkgs := s.packages(i, a)
				if err := in.ReplacePackages(s.ctx, s.g.ids[i], pkgs); err != nil {
					return err
				}
				s.counts["packages"] += len(pkgs)
				s.counts["assets."+a.kind]++
				if a.kind == "host" {
					items := s.items(i)
					if err := in.ReplaceItems(s.ctx, s.g.ids[i], itemKinds, items); err != nil {
						return err
					}
					s.counts["items"] += len(items)
				}
				if a.kind == "container" {
					if a.gone {
						s.counts["assetsGone"]++
					} else {
						keep = append(keep, s.g.ids[i])
					}
				}
			}
			return in.MarkGone(s.ctx, agentID, "container", keep)
		})
		if err != nil {
			return fmt.Errorf("inventory of agent %s: %w", agentID, err)
		}
		calls++
	}
	s.done("inventory (Ingest)", calls, t)
	return nil
}

func (s *seeder) storeAsset(i int, a assetFacts) store.Asset {
	h := a.host
	attrs := map[string]any{}
	switch a.kind {
	case "host":
		osID, osVer, _ := strings.Cut(a.os, " ")
		attrs = map[string]any{"kernel": "6.1.0-" + strconv.Itoa(10+i%20) + "-amd64", "hostname": h.name,
			"ips": []string{fmt.Sprintf("10.%d.%d.%d", i/65536%256, i/256%256, i%256)}, "os": map[string]string{"id": osID, "versionId": osVer},
			"cloud": map[string]string{"provider": h.cloud, "region": h.region, "instanceId": "i-" + hexOf(9, "instance", strconv.Itoa(i))[:17]},
			"cpus":  2 << (i % 4), "memoryBytes": int64(4<<30) << (i % 4)}
	case "image":
		attrs = map[string]any{"digest": s.g.localID(i), "sizeBytes": 50<<20 + i%400<<20, "layers": 3 + i%12}
	default:
		attrs = map[string]any{"runtime": "containerd", "state": "running", "image": "registry.example.com/" + h.team + "/" + s.g.app(i),
			"startedAt": s.dayTime(a.firstDay, i).Format(time.RFC3339)}
	}
	b, _ := json.Marshal(attrs)
	parent := ""
	if a.kind == "container" {
		parent = s.g.ids[s.g.owner[i]]
	}
	return store.Asset{ID: s.g.ids[i], Kind: a.kind, Name: a.name, AgentID: h.agentID, ParentID: parent, OS: a.os,
		Platform: h.platform, Cloud: h.cloud, Region: h.region, Labels: a.labels, Attrs: b,
		FirstSeen: s.dayTime(a.firstDay, i), LastSeen: s.dayTime(a.lastDay, i)}
}

// packages are the asset's vulnerable packages and more up to the size
// of its kind.
func (s *seeder) packages(i int, a assetFacts) []store.Package {
	want := map[string]int{"host": s.g.p.HostPackages, "image": s.g.p.ImagePackages, "container": s.g.p.ContainerPackages}[a.kind]
	var names []int
	seen := map[int]bool{}
	for _, f := range s.g.vulns(i, a) {
		if p := s.g.rules[f.rule].pkg; !seen[p] {
			seen[p] = true
			names = append(names, p)
		}
	}
	r := s.g.rng("packages", i)
	for tries := 0; len(names) < want && tries < 10*want; tries++ {
		p := r.IntN(popularPackages)
		if r.IntN(4) == 0 {
			p = r.IntN(len(packagePool))
		}
		if !seen[p] {
			seen[p] = true
			names = append(names, p)
		}
	}
	out := make([]store.Package, 0, len(names))
	for _, p := range names {
		out = append(out, s.pkg(i, a, p))
	}
	return out
}

// pkgFacts are the stored columns of package p of the pool as installed
// on asset i.
func (s *seeder) pkgFacts(i int, a assetFacts, p int) (pk store.Package, purlType, extractor, loc string) {
	pi := packagePool[p]
	ver, _ := version(pi.name, a.os)
	eco := a.ecosystem
	purlType, extractor, loc = "deb", "os/dpkg", "/var/lib/dpkg/status"
	switch {
	case pi.lang == "npm":
		eco, purlType, extractor, loc = "npm", "npm", "javascript/packagelockjson", "/app/package-lock.json"
	case pi.lang == "PyPI":
		eco, purlType, extractor, loc = "PyPI", "pypi", "python/wheelegg", "/usr/lib/python3/dist-packages/"+pi.name+".dist-info/METADATA"
	case pi.lang == "Go":
		eco, purlType, extractor, loc = "Go", "golang", "go/binary", "/usr/local/bin/app"
	case pi.lang == "Maven":
		eco, purlType, extractor, loc = "Maven", "maven", "java/archive", "/app/lib/app.jar"
	case strings.HasPrefix(a.os, "rhel"), strings.HasPrefix(a.os, "amzn"):
		purlType, extractor, loc = "rpm", "os/rpm", "/var/lib/rpm/rpmdb.sqlite"
	case strings.HasPrefix(a.os, "alpine"):
		purlType, extractor, loc = "apk", "os/apk", "/lib/apk/db/installed"
	}
	pk = store.Package{AssetID: s.g.ids[i], ID: hexOf(8, s.g.ids[i], pi.name), Name: pi.name, Version: ver, Ecosystem: eco,
		PURL: "pkg:" + purlType + "/" + pi.name + "@" + ver}
	return pk, purlType, extractor, loc
}

// pkg is package p of the pool as installed on asset i, with its
// inventory.Package as data.
func (s *seeder) pkg(i int, a assetFacts, p int) store.Package {
	pk, purlType, extractor, loc := s.pkgFacts(i, a, p)
	ip := inventory.Package{ID: pk.ID, Name: pk.Name, Version: pk.Version, Ecosystem: inventory.Ecosystem(pk.Ecosystem), PURL: pk.PURL,
		Locations: []inventory.Location{{Path: loc}}, Extractor: extractor}
	if purlType == "deb" {
		ip.Source = &inventory.Source{Name: strings.TrimSuffix(pk.Name, "-0"), Version: pk.Version}
	}
	pk.Data, _ = json.Marshal(ip)
	return pk
}

// itemKinds are the host inventory item kinds the seed fills.
var itemKinds = []string{"process", "port", "user", "group", "service", "cron", "sudo", "module"}

// items are a host's processes, ports, users, groups, services, cron
// jobs, sudo rules and kernel modules (80).
func (s *seeder) items(i int) []store.Item {
	r := s.g.rng("items", i)
	var out []store.Item
	add := func(kind, key string, data map[string]any) {
		b, _ := json.Marshal(data)
		out = append(out, store.Item{AssetID: s.g.ids[i], Kind: kind, Key: key, Data: b})
	}
	procs := []string{"systemd", "sshd", "containerd", "kubelet", "vigil-agent", "nginx", "node", "python3", "java", "postgres", "cron", "rsyslogd", "dbus-daemon", "chronyd", "bash"}
	for j := range 25 {
		pid := 1 + j*97 + r.IntN(90)
		name := procs[j%len(procs)]
		add("process", fmt.Sprintf("%d@%d", pid, 1000+r.IntN(900000)), map[string]any{"pid": pid, "ppid": 1, "user": []string{"root", "www-data", "postgres", "app"}[j%4],
			"name": name, "cmdline": "/usr/bin/" + name + " --config /etc/" + name + ".conf", "rssBytes": (1 + r.IntN(500)) << 20, "state": "S"})
	}
	for j, port := range []int{22, 80, 443, 5432, 10250} {
		add("port", fmt.Sprintf("tcp/0.0.0.0/%d", port), map[string]any{"proto": "tcp", "address": "0.0.0.0", "port": port, "process": procs[j], "pid": 100 + j})
	}
	for j := range 8 {
		name := []string{"root", "daemon", "www-data", "postgres", "app", "deploy", "backup", "nobody"}[j]
		add("user", name, map[string]any{"name": name, "uid": j * 1000 % 65534, "gid": j * 1000 % 65534, "home": "/home/" + name, "shell": "/bin/bash"})
	}
	for j := range 10 {
		name := []string{"root", "adm", "sudo", "docker", "www-data", "postgres", "app", "deploy", "backup", "nogroup"}[j]
		add("group", name, map[string]any{"name": name, "gid": j * 100, "members": []string{"deploy"}})
	}
	for j := range 15 {
		name := procs[j%len(procs)] + ".service"
		add("service", name+strconv.Itoa(j/len(procs)), map[string]any{"name": name, "enabled": true, "user": "root", "type": "simple",
			"execStart": "/usr/bin/" + procs[j%len(procs)], "description": procs[j%len(procs)] + " daemon"})
	}
	for j := range 3 {
		add("cron", fmt.Sprintf("/etc/cron.d/job%d#%s", j, hexOf(4, "cron", strconv.Itoa(i), strconv.Itoa(j))),
			map[string]any{"schedule": "*/15 * * * *", "user": "root", "command": "/usr/local/bin/backup.sh", "file": fmt.Sprintf("/etc/cron.d/job%d", j)})
	}
	for j := range 2 {
		add("sudo", fmt.Sprintf("/etc/sudoers#%s", hexOf(4, "sudo", strconv.Itoa(i), strconv.Itoa(j))),
			map[string]any{"file": "/etc/sudoers", "users": []string{"%sudo", "deploy"}[j], "commands": "ALL", "nopasswd": j == 1})
	}
	for j := range 12 {
		name := []string{"overlay", "br_netfilter", "nf_conntrack", "ip_tables", "xt_conntrack", "veth", "bridge", "tls", "ext4", "xfs", "nvme", "virtio_net"}[j]
		add("module", name, map[string]any{"name": name, "size": 16384 * (1 + j), "refCount": j % 3, "state": "Live"})
	}
	return out
}

// op is one assessment of an asset on a day.
type op struct {
	day, asset int
	second     bool
}

// assess replays the assessments day by day: each asset is assessed on
// its first day (all its findings new but the late ones) and, for 85% of
// them, again on a later day (late findings new, dropped ones fixed, the
// rest open); the trend is recorded at the end of every day. Hosts also
// get misconfiguration findings and half the images a secret.
func (s *seeder) assess() error {
	t := time.Now()
	var ops []op
	for i := range s.g.p.Assets {
		a := s.g.asset(i)
		ops = append(ops, op{day: a.firstDay, asset: i})
		if a.twoSyncs {
			ops = append(ops, op{day: a.lastDay, asset: i, second: true})
		}
	}
	slices.SortStableFunc(ops, func(x, y op) int { return x.day - y.day })
	calls, trends := 0, 0
	var sum store.FindingsSync
	last := time.Now()
	for k, o := range ops {
		a := s.g.asset(o.asset)
		fs := s.g.vulns(o.asset, a)
		id := s.g.ids[o.asset]
		now := s.dayTime(o.day, o.asset)
		var cur []store.Finding
		risk := 0.0
		for _, f := range fs {
			if (!o.second && f.late) || (o.second && f.dropped) {
				continue
			}
			cur = append(cur, s.finding(o.asset, a, f))
			risk = max(risk, f.risk)
		}
		res, err := s.db.SyncFindings(s.ctx, id, string(finding.KindVulnerability), cur, now)
		if err != nil {
			return err
		}
		calls++
		sum.New += res.New
		sum.Fixed += res.Fixed
		if !o.second {
			for _, kind := range []finding.Kind{finding.KindMisconfiguration, finding.KindSecret} {
				other := s.otherFindings(o.asset, a, kind)
				if len(other) == 0 {
					continue
				}
				if _, err := s.db.SyncFindings(s.ctx, id, string(kind), other, now); err != nil {
					return err
				}
				calls++
				s.counts["findings."+string(kind)] += len(other)
				for _, f := range other {
					risk = max(risk, f.Risk)
				}
			}
		}
		if o.second || !a.twoSyncs {
			if err := s.db.SetAssetRisk(s.ctx, id, risk); err != nil {
				return err
			}
			calls++
		}
		if k == len(ops)-1 || ops[k+1].day != o.day {
			if err := s.db.RecordTrend(s.ctx, s.dayTime(o.day, 0)); err != nil {
				return err
			}
			trends++
		}
		if time.Since(last) > 30*time.Second {
			last = time.Now()
			fmt.Fprintf(s.log, "consolebench:   assessments %d of %d (%.0f s)\n", k+1, len(ops), time.Since(t).Seconds())
		}
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
	}
	s.counts["findings.vulnerability"] = sum.New
	s.counts["findingsFixed"] = sum.Fixed
	s.counts["trendDays"] = trends
	s.done("assessments (SyncFindings)", calls+trends, t)
	return nil
}

// finding is the store finding of f on asset i, with a vuln.Match as its
// data as the assessor stores it.
func (s *seeder) finding(i int, a assetFacts, f vulnFinding) store.Finding {
	ru := s.g.rules[f.rule]
	p, _, _, _ := s.pkgFacts(i, a, ru.pkg)
	_, fixed := version(p.Name, a.os)
	m := vuln.Match{ID: ru.id, Aliases: []string{ru.alias}, Advisories: []string{ru.alias, "DSA-" + strconv.Itoa(5000+f.rule%900) + "-1"},
		Summary: ru.title, PackageID: p.ID, Package: p.Name, Version: p.Version, Ecosystem: inventory.Ecosystem(p.Ecosystem),
		Severity: ru.sev, Fixed: []string{fixed}, FixVersion: fixed}
	m.Risk.Score = f.risk
	if ru.cvss > 0 {
		m.CVSS = &vuln.CVSS{Version: "3.1", Vector: ru.vector, Score: ru.cvss}
		m.Risk.Reasons = append(m.Risk.Reasons, fmt.Sprintf("CVSS 3.1 base score %.1f", ru.cvss))
	} else {
		m.Risk.Reasons = append(m.Risk.Reasons, "severity "+ru.sev.String())
	}
	if ru.epss > 0 {
		m.EPSS = &advisory.EPSS{CVE: ru.id, Score: ru.epss, Percentile: ru.pctile}
		if ru.pctile > 0.70 {
			m.Risk.Reasons = append(m.Risk.Reasons, fmt.Sprintf("EPSS %.3f (percentile %.0f)", ru.epss, ru.pctile*100))
		}
	}
	if ru.kev {
		m.KEV = &advisory.KEV{CVE: ru.id, VendorProject: p.Name, Product: p.Name, Name: ru.title, RequiredAction: "Apply updates per vendor instructions."}
		m.Risk.Reasons = append(m.Risk.Reasons, "in CISA KEV: exploited in the wild")
	}
	switch {
	case a.exposure > 0:
		m.Risk.Reasons = append(m.Risk.Reasons, "internet-facing")
	case a.exposure < 0:
		m.Risk.Reasons = append(m.Risk.Reasons, "not internet-facing")
	}
	data, _ := json.Marshal(m)
	return store.Finding{ID: finding.NewID(s.g.ids[i], finding.KindVulnerability, ru.id, p.ID), PackageID: p.ID, RuleID: ru.id,
		Severity: ru.sev.String(), Risk: f.risk, Title: ru.title, Package: p.Name, PackageVersion: p.Version, FixedVersion: fixed, Data: data}
}

// otherFindings are a host's misconfigurations (8 of 200 benchmark
// rules) or an image's secret (half of them have one).
func (s *seeder) otherFindings(i int, a assetFacts, kind finding.Kind) []store.Finding {
	r := s.g.rng("other-"+string(kind), i)
	var out []store.Finding
	switch {
	case kind == finding.KindMisconfiguration && a.kind == "host":
		seen := map[int]bool{}
		for len(out) < 8 {
			n := r.IntN(200)
			if seen[n] {
				continue
			}
			seen[n] = true
			rule := fmt.Sprintf("cis-linux-%d.%d.%d", 1+n/40, 1+n/8%5, 1+n%8)
			sev := severities[1+n%3]
			risk := map[finding.Severity]float64{finding.SeverityHigh: 60, finding.SeverityMedium: 40, finding.SeverityLow: 20}[sev] + a.exposure
			out = append(out, store.Finding{ID: finding.NewID(s.g.ids[i], kind, rule, ""), RuleID: rule, Severity: sev.String(),
				Risk: risk, Title: "CIS benchmark " + rule + " not satisfied"})
		}
	case kind == finding.KindSecret && a.kind == "image" && r.IntN(2) == 0:
		rule := []string{"aws-access-key", "github-pat", "private-key", "slack-webhook", "generic-password"}[r.IntN(5)]
		path := "/app/config/" + []string{"settings.py", ".env", "application.yml", "id_rsa"}[r.IntN(4)]
		data, _ := json.Marshal(map[string]any{"path": path, "line": 1 + r.IntN(200), "redacted": "AKIA…" + hexOf(2, path)})
		out = append(out, store.Finding{ID: finding.NewID(s.g.ids[i], kind, rule, path), PackageID: "", RuleID: rule,
			Severity: "high", Risk: 70, Title: rule + " in " + path, Data: data})
	}
	return out
}

// accept accepts 9% of the findings still present, 1,000 per call, as an
// analyst does from the findings page.
func (s *seeder) accept() error {
	t := time.Now()
	var ids []string
	for i := range s.g.p.Assets {
		a := s.g.asset(i)
		for _, f := range s.g.vulns(i, a) {
			switch {
			case f.dropped:
				s.counts["status.fixed"]++
			case f.accepted:
				s.counts["status.accepted"]++
				ids = append(ids, s.findingID(i, a, f))
			case f.late || !a.twoSyncs:
				s.counts["status.new"]++
			default:
				s.counts["status.open"]++
			}
		}
	}
	calls, n := 0, 0
	for start := 0; start < len(ids); start += 1000 {
		end := min(start+1000, len(ids))
		k, err := s.db.AcceptFindings(s.ctx, ids[start:end], "compensating control: not reachable from the network", s.start.AddDate(0, 0, 90), "user:user-00")
		if err != nil {
			return err
		}
		n += k
		calls++
	}
	s.counts["findingsAccepted"] = n
	s.done("acceptances (AcceptFindings)", calls, t)
	return nil
}

func (s *seeder) findingID(i int, a assetFacts, f vulnFinding) string {
	ru := s.g.rules[f.rule]
	p, _, _, _ := s.pkgFacts(i, a, ru.pkg)
	return finding.NewID(s.g.ids[i], finding.KindVulnerability, ru.id, p.ID)
}

// eventKinds are the events agents send, by share; alerts are rare.
var (
	eventKinds = []struct {
		kind, severity string
		weight         float64
	}{
		{"process.exec", "", 45}, {"net.connect", "", 20}, {"file.write", "", 10}, {"login.ssh", "low", 8},
		{"package.installed", "", 5}, {"process.exec", "medium", 6}, {"alert.unexpected_listener", "medium", 2.5},
		{"alert.sensitive_file", "high", 1.5}, {"alert.crypto_miner", "high", 0.8}, {"alert.reverse_shell", "critical", 0.4},
		{"alert.privilege_escalation", "critical", 0.3}, {"agent.silent", "high", 0.5},
	}
)

// events: Events events over the history, in time order, 2,000 per call.
func (s *seeder) events() error {
	t := time.Now()
	n := s.g.p.Events
	if n == 0 {
		return nil
	}
	weights := make([]float64, len(eventKinds))
	for i, k := range eventKinds {
		weights[i] = k.weight
	}
	idx := make([]int, len(eventKinds))
	for i := range idx {
		idx[i] = i
	}
	r := s.g.rng("events", 0)
	span := s.start.Sub(s.base.AddDate(0, 0, -days))
	batch := make([]store.Event, 0, 2000)
	calls := 0
	for e := range n {
		k := eventKinds[pick(r, idx, weights)]
		h := r.IntN(s.g.p.Agents)
		asset := s.g.ids[h]
		if own := s.g.owned[h]; len(own) > 0 && r.IntN(4) == 0 {
			asset = s.g.ids[own[r.IntN(len(own))]]
		}
		at := s.base.AddDate(0, 0, -days).Add(time.Duration(float64(span) * (float64(e) + r.Float64()) / float64(n)))
		exe := []string{"/usr/bin/curl", "/usr/bin/python3", "/bin/bash", "/usr/sbin/sshd", "/usr/bin/node", "/tmp/.x/xmrig"}[r.IntN(6)]
		data, _ := json.Marshal(map[string]any{"pid": 1000 + r.IntN(60000), "exe": exe, "user": "root", "cmdline": exe + " -c ..."})
		batch = append(batch, store.Event{AgentID: s.g.hosts[h].agentID, AssetID: asset, Time: at, Kind: k.kind, Severity: k.severity, Data: data})
		if len(batch) == cap(batch) || e == n-1 {
			if err := s.db.AddEvents(s.ctx, batch); err != nil {
				return err
			}
			calls++
			batch = batch[:0]
		}
	}
	s.counts["events"] = n
	s.done("events (AddEvents)", calls, t)
	return nil
}

// audit: 5,000 audit entries over the history.
func (s *seeder) audit() error {
	t := time.Now()
	r := s.g.rng("audit", 0)
	actions := []string{"login.success", "login.fail", "logout", "finding.accept", "agent.rescan", "token.create", "enrollment_token.create", "user.update", "agent.revoke"}
	weights := []float64{40, 15, 5, 10, 15, 5, 5, 4, 1}
	const n = 5000
	for k := range n {
		act := pick(r, actions, weights)
		actor := fmt.Sprintf("user:user-%02d", r.IntN(24))
		target := ""
		switch act {
		case "finding.accept":
			target = "findings"
		case "agent.rescan", "agent.revoke":
			target = "agent:" + s.g.hosts[r.IntN(s.g.p.Agents)].agentID
		case "token.create":
			target = "token:" + strconv.Itoa(1+r.IntN(40))
		case "user.update":
			target = "user:" + strconv.Itoa(2+r.IntN(24))
		}
		detail, _ := json.Marshal(map[string]any{"via": "console"})
		err := s.db.Audit(s.ctx, store.AuditEntry{Time: s.dayTime(k*days/n, k), Actor: actor, Action: act, Target: target,
			Detail: detail, Remote: fmt.Sprintf("10.20.%d.%d", r.IntN(256), r.IntN(256))})
		if err != nil {
			return err
		}
	}
	s.counts["audit"] = n
	s.done("audit log (Audit)", n, t)
	return nil
}

// errNoSeed is returned when a seed directory has no seed.json.
var errNoSeed = errors.New("no seed.json: run consolebench seed first")

func readSeed(dir string) (*seedInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, "seed.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, errNoSeed)
	}
	if err != nil {
		return nil, err
	}
	var info seedInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s/seed.json: %w", dir, err)
	}
	return &info, nil
}
