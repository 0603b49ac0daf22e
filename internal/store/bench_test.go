package store

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Benchmarks (not run in CI): go test -run '^$' -bench . ./internal/store/
// VIGIL_BENCH_ASSETS and VIGIL_BENCH_FINDINGS change the sizes (100,000
// assets and 1,000,000 findings by default); VIGIL_BENCH_NOANALYZE=1
// leaves the fleet without planner statistics.

func benchSize(env string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchPackages makes n packages with realistic Data.
func benchPackages(n, version int) []Package {
	pkgs := make([]Package, n)
	for i := range pkgs {
		name := fmt.Sprintf("lib-package-%04d", i)
		v := fmt.Sprintf("1.%d.%d-%d", i%17, version, i%5)
		data, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("%016x", i), "name": name, "version": v, "ecosystem": "Debian:12",
			"purl":      "pkg:deb/debian/" + name + "@" + v + "?arch=amd64&distro=debian-12",
			"source":    map[string]string{"name": name + "-src", "version": v},
			"licenses":  []string{"MIT", "GPL-2.0-or-later"},
			"locations": []map[string]string{{"path": "/var/lib/dpkg/status"}},
			"extractor": "os/dpkg",
		})
		pkgs[i] = Package{ID: fmt.Sprintf("%016x", i), Name: name, Version: v, Ecosystem: "Debian:12",
			PURL: "pkg:deb/debian/" + name + "@" + v, Data: data}
	}
	return pkgs
}

// BenchmarkReplacePackages replaces a host's 2,000 packages in one
// message: every package changed (a new version of each), or none (the
// usual periodic snapshot).
func BenchmarkReplacePackages(b *testing.B) {
	for _, d := range dialects {
		for _, mode := range []string{"changed", "unchanged"} {
			b.Run(d+"/"+mode, func(b *testing.B) {
				db := openTest(b, d)
				newAgent(b, db, "a1")
				newAsset(b, db, "a1", Asset{ID: "h1", Kind: AssetHost, Name: "web-1"})
				sets := [2][]Package{benchPackages(2000, 1), benchPackages(2000, 2)}
				if mode == "unchanged" {
					sets[1] = sets[0]
				}
				seq := uint64(100)
				replace := func(i int) {
					seq++
					_, err := db.Ingest(ctx, "a1", seq, func(in Ingester) error {
						return in.ReplacePackages(ctx, "h1", sets[i%2])
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				replace(1)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					replace(i)
				}
			})
		}
	}
}

// fleet is a store filled for the list benchmarks, shared by the
// sub-benchmarks of one dialect.
type fleet struct {
	once sync.Once
	db   *DB
	err  error
}

var fleets = map[string]*fleet{dialectSQLite: {}, dialectPostgres: {}}

// fillFleet stores nAssets assets (10% hosts, 80% containers, 10%
// images) and nFindings findings over the first hosts.
func fillFleet(b *testing.B, d string, nAssets, nFindings int) *DB {
	f := fleets[d]
	f.once.Do(func() {
		// The fleet outlives the sub-benchmark that builds it.
		url, drop := newDatabase(b, d)
		db, err := Open(ctx, url)
		if err != nil {
			f.err = err
			return
		}
		f.db = db
		atExit(func() error { db.Close(); return drop() })
		start := time.Now()
		f.err = buildFleet(db, nAssets, nFindings)
		b.Logf("%s: %d assets and %d findings stored in %v", d, nAssets, nFindings, time.Since(start).Round(time.Millisecond))
	})
	if f.err != nil {
		b.Fatal(f.err)
	}
	return f.db
}

func buildFleet(db *DB, nAssets, nFindings int) error {
	envs := []string{"prod", "dev", "staging"}
	clouds := []string{"aws", "gcp", "azure", "on-prem"}
	const agents = 100
	for a := range agents {
		if _, err := db.CreateAgent(ctx, Agent{ID: fmt.Sprintf("agent-%03d", a), Hostname: fmt.Sprintf("node-%03d", a), EnrolledAt: t0}); err != nil {
			return err
		}
	}
	hosts := nAssets / 10
	per := nAssets / agents
	for a := range agents {
		agentID := fmt.Sprintf("agent-%03d", a)
		_, err := db.Ingest(ctx, agentID, 1, func(in Ingester) error {
			for i := a * per; i < (a+1)*per; i++ {
				kind, parent := AssetContainer, fmt.Sprintf("host-%06d", i%hosts)
				switch {
				case i < hosts:
					kind, parent = AssetHost, ""
				case i >= nAssets-hosts:
					kind, parent = AssetImage, ""
				}
				id := fmt.Sprintf("%s-%06d", kind, i)
				err := in.UpsertAsset(ctx, Asset{ID: id, Kind: kind, Name: fmt.Sprintf("%s-%s-%d", envs[i%3], kind, (i*7919)%nAssets),
					AgentID: agentID, ParentID: parent, OS: "debian 12", Cloud: clouds[i%4], Region: "region-" + strconv.Itoa(i%7),
					Labels: map[string]string{"env": envs[i%3], "team": "team-" + strconv.Itoa(i%50)},
					Attrs:  json.RawMessage(`{"kernel":"6.1.0-18-amd64","ips":["10.0.0.1"]}`), FirstSeen: at(time.Duration(i%1000) * time.Minute),
					LastSeen: at(time.Duration((i*31)%5000) * time.Second)})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// Risk through the writer in one transaction.
	err := db.tx(ctx, func(c conn) error {
		_, err := c.exec(ctx, `UPDATE assets SET risk = (LENGTH(id) * 7 + LENGTH(name) * 13) % 100 / 10.0`)
		return err
	})
	if err != nil {
		return err
	}
	// Findings: 500 per host.
	const perHost = 500
	sevs := []string{"low", "medium", "high", "critical", "unknown"}
	statuses := 0
	for h := 0; h*perHost < nFindings; h++ {
		assetID := fmt.Sprintf("host-%06d", h%hosts)
		fs := make([]Finding, 0, perHost)
		for j := range perHost {
			rule := fmt.Sprintf("CVE-2024-%05d", (h*37+j*101)%20000)
			pkg := fmt.Sprintf("pkg-%03d", j%300)
			fs = append(fs, Finding{ID: fmt.Sprintf("f-%06d-%03d", h, j), PackageID: pkg, RuleID: rule, Severity: sevs[(h+j)%5],
				Risk: float64((h*13+j*7)%1000) / 100, Title: rule + " in " + pkg, Package: pkg, PackageVersion: "1.0", FixedVersion: "1.1",
				Data: json.RawMessage(`{"aliases":["GHSA-xxxx"],"cvss":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}`)})
		}
		if _, err := db.SyncFindings(ctx, assetID, "vulnerability", fs, t0); err != nil {
			return err
		}
		// Some get fixed or accepted.
		if h%4 == 0 {
			if _, err := db.SyncFindings(ctx, assetID, "vulnerability", fs[:perHost*9/10], at(time.Hour)); err != nil {
				return err
			}
			ids := make([]string, 0, 20)
			for j := range 20 {
				ids = append(ids, fs[j].ID)
			}
			n, err := db.AcceptFindings(ctx, ids, "bench", at(48*time.Hour), "bench")
			if err != nil {
				return err
			}
			statuses += n
		}
	}
	if os.Getenv("VIGIL_BENCH_NOANALYZE") != "" {
		return nil // plans without statistics, as before the first refresh
	}
	_, err = db.w.Exec("ANALYZE")
	return err
}

// benchList runs one list query per iteration and reports its p99.
func benchList[T any](b *testing.B, o ListOptions, fn func(ListOptions) (Page[T], error)) {
	b.Helper()
	var durs []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		p, err := fn(o)
		if err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(start))
		if len(p.Items) == 0 {
			b.Fatal("empty page")
		}
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
}

// deepCursor returns the cursor after pages pages of o.
func deepCursor[T any](b *testing.B, o ListOptions, pages int, fn func(ListOptions) (Page[T], error)) ListOptions {
	for range pages {
		p, err := fn(o)
		if err != nil {
			b.Fatal(err)
		}
		o.Cursor = p.Next
	}
	return o
}

func BenchmarkListAssets(b *testing.B) {
	nAssets := benchSize("VIGIL_BENCH_ASSETS", 100_000)
	nFindings := benchSize("VIGIL_BENCH_FINDINGS", 1_000_000)
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			db := fillFleet(b, d, nAssets, nFindings)
			list := func(o ListOptions) (Page[Asset], error) { return db.ListAssets(ctx, o) }
			for _, tc := range []struct {
				name string
				o    ListOptions
			}{
				{"default", ListOptions{}},
				{"risk", ListOptions{Sort: "risk", Desc: true}},
				{"last_seen", ListOptions{Sort: "last_seen", Desc: true}},
				{"kind=host", ListOptions{Filter: map[string]string{"kind": "host"}}},
				{"kind=image/risk", ListOptions{Sort: "risk", Desc: true, Filter: map[string]string{"kind": "image"}}},
				{"name", ListOptions{Filter: map[string]string{"name": "prod-host-1"}}},
				{"label", ListOptions{Filter: map[string]string{"label": "team=team-7"}}},
				{"agent", ListOptions{Filter: map[string]string{"agent_id": "agent-042"}}},
				{"parent", ListOptions{Filter: map[string]string{"parent_id": "host-000042"}}},
				{"min_risk", ListOptions{Filter: map[string]string{"min_risk": "9"}, Sort: "risk", Desc: true}},
				{"rare+sort", ListOptions{Filter: map[string]string{"region": "region-3", "cloud": "gcp"}, Sort: "first_seen"}},
				{"limit1000", ListOptions{Limit: 1000}},
			} {
				b.Run(tc.name, func(b *testing.B) { benchList(b, tc.o, list) })
			}
			b.Run("page50", func(b *testing.B) { benchList(b, deepCursor(b, ListOptions{}, 50, list), list) })
		})
	}
}

func BenchmarkListFindings(b *testing.B) {
	nAssets := benchSize("VIGIL_BENCH_ASSETS", 100_000)
	nFindings := benchSize("VIGIL_BENCH_FINDINGS", 1_000_000)
	for _, d := range dialects {
		b.Run(d, func(b *testing.B) {
			db := fillFleet(b, d, nAssets, nFindings)
			list := func(o ListOptions) (Page[Finding], error) { return db.ListFindings(ctx, o) }
			for _, tc := range []struct {
				name string
				o    ListOptions
			}{
				{"default", ListOptions{Desc: true}},
				{"open", ListOptions{Desc: true, Filter: map[string]string{"status": "new,open,reopened"}}},
				{"accepted", ListOptions{Desc: true, Filter: map[string]string{"status": "accepted"}}},
				{"critical", ListOptions{Desc: true, Filter: map[string]string{"severity": "critical"}}},
				{"critical+open", ListOptions{Desc: true, Filter: map[string]string{"severity": "critical", "status": "new,open,reopened"}}},
				{"asset", ListOptions{Desc: true, Filter: map[string]string{"asset_id": "host-000042"}}},
				{"rule", ListOptions{Desc: true, Filter: map[string]string{"rule_id": "CVE-2024-00101"}}},
				{"package", ListOptions{Desc: true, Filter: map[string]string{"package": "pkg-042"}}},
				{"min_risk", ListOptions{Desc: true, Filter: map[string]string{"min_risk": "9.5"}}},
				{"last_seen", ListOptions{Sort: "last_seen", Desc: true}},
				{"severity", ListOptions{Sort: "severity", Desc: true}},
			} {
				b.Run(tc.name, func(b *testing.B) { benchList(b, tc.o, list) })
			}
			b.Run("page50", func(b *testing.B) { benchList(b, deepCursor(b, ListOptions{Desc: true}, 50, list), list) })
			vulns := func(o ListOptions) (Page[Vulnerability], error) { return db.ListVulnerabilities(ctx, o) }
			b.Run("vulnerabilities", func(b *testing.B) { benchList(b, ListOptions{Desc: true}, vulns) })
			b.Run("vulnerabilities/asset", func(b *testing.B) {
				benchList(b, ListOptions{Desc: true, Filter: map[string]string{"asset_id": "host-000042"}}, vulns)
			})
		})
	}
}

// BenchmarkSyncFindings re-assesses a host with 500 vulnerability findings
// in a store holding other hosts' findings: nothing changed (the usual
// case), or every finding's risk changed.
func BenchmarkSyncFindings(b *testing.B) {
	for _, d := range dialects {
		for _, mode := range []string{"unchanged", "changed"} {
			b.Run(d+"/"+mode, func(b *testing.B) {
				db := openTest(b, d)
				newAgent(b, db, "a1")
				mk := func(host string, risk float64) []Finding {
					fs := make([]Finding, 500)
					for j := range fs {
						rule := fmt.Sprintf("CVE-2024-%05d", j*7)
						fs[j] = Finding{ID: fmt.Sprintf("f-%s-%03d", host, j), PackageID: fmt.Sprint("p", j%300), RuleID: rule,
							Severity: "high", Risk: risk + float64(j%10), Title: rule, Package: fmt.Sprint("pkg", j%300),
							Data: json.RawMessage(`{"aliases":["GHSA-xxxx"],"cvss":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}`)}
					}
					return fs
				}
				for h := range 20 {
					host := fmt.Sprintf("h%02d", h)
					newAsset(b, db, "a1", Asset{ID: host, Kind: AssetHost, Name: host})
					if _, err := db.SyncFindings(ctx, host, "vulnerability", mk(host, 1), t0); err != nil {
						b.Fatal(err)
					}
				}
				sets := [2][]Finding{mk("h00", 1), mk("h00", 1)}
				if mode == "changed" {
					sets[1] = mk("h00", 0.5)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := db.SyncFindings(ctx, "h00", "vulnerability", sets[i%2], at(time.Duration(i)*time.Minute)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
