package store

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
)

func TestListAssets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		newAgent(t, db, "a1")
		newAgent(t, db, "a2")
		assets := []Asset{
			{ID: "h1", Kind: AssetHost, Name: "Web-1", AgentID: "a1", OS: "debian 12", Cloud: "aws", Region: "eu-west-1", Labels: map[string]string{"env": "prod"}, FirstSeen: at(1 * time.Hour), LastSeen: at(5 * time.Hour)},
			{ID: "h2", Kind: AssetHost, Name: "db-1", AgentID: "a2", OS: "ubuntu 24.04", Cloud: "gcp", Region: "europe-west1", Labels: map[string]string{"env": "dev", "environment": "production"}, FirstSeen: at(2 * time.Hour), LastSeen: at(4 * time.Hour)},
			{ID: "c1", Kind: AssetContainer, Name: "web-nginx", AgentID: "a1", ParentID: "h1", OS: "alpine 3.20", FirstSeen: at(3 * time.Hour), LastSeen: at(3 * time.Hour)},
			{ID: "c2", Kind: AssetContainer, Name: "100%_real", AgentID: "a1", ParentID: "h1", FirstSeen: at(4 * time.Hour), LastSeen: at(2 * time.Hour)},
			{ID: "i1", Kind: AssetImage, Name: "nginx:1.27", AgentID: "a1", FirstSeen: at(5 * time.Hour), LastSeen: at(1 * time.Hour)},
		}
		for _, a := range assets {
			newAsset(t, db, a.AgentID, a)
		}
		must(t, db.SetAssetRisk(ctx, "h1", 8))
		must(t, db.SetAssetRisk(ctx, "c1", 8))
		must(t, db.SetAssetRisk(ctx, "h2", 3.5))
		ingest(t, db, "a1", func(in Ingester) error { return in.MarkGone(ctx, "a1", AssetImage, nil) })

		ids := func(o ListOptions) []string {
			t.Helper()
			p, err := db.ListAssets(ctx, o)
			must(t, err)
			var out []string
			for _, a := range p.Items {
				out = append(out, a.ID)
			}
			return out
		}
		for _, tc := range []struct {
			o    ListOptions
			want []string
		}{
			{ListOptions{}, []string{"c2", "h1", "h2", "c1"}}, // byte order: "100%_real" < "Web-1" < "db-1" < "web-nginx"
			{ListOptions{Desc: true}, []string{"c1", "h2", "h1", "c2"}},
			{ListOptions{Sort: "risk", Desc: true}, []string{"h1", "c1", "h2", "c2"}},
			{ListOptions{Sort: "risk"}, []string{"c2", "h2", "c1", "h1"}},
			{ListOptions{Sort: "first_seen"}, []string{"h1", "h2", "c1", "c2"}},
			{ListOptions{Sort: "last_seen", Desc: true}, []string{"h1", "h2", "c1", "c2"}},
			{ListOptions{Filter: map[string]string{"gone": "true"}}, []string{"i1"}},
			{ListOptions{Filter: map[string]string{"gone": "false", "kind": "host"}}, []string{"h1", "h2"}},
			{ListOptions{Filter: map[string]string{"kind": "container,image"}}, []string{"c2", "c1"}},
			{ListOptions{Filter: map[string]string{"name": "WEB"}}, []string{"h1", "c1"}},
			{ListOptions{Filter: map[string]string{"name": "0%_"}}, []string{"c2"}},
			{ListOptions{Filter: map[string]string{"name": "%"}}, []string{"c2"}},
			{ListOptions{Filter: map[string]string{"name": "b_1"}}, nil},
			{ListOptions{Filter: map[string]string{"os": "debian 12"}}, []string{"h1"}},
			{ListOptions{Filter: map[string]string{"cloud": "gcp"}}, []string{"h2"}},
			{ListOptions{Filter: map[string]string{"region": "eu-west-1"}}, []string{"h1"}},
			{ListOptions{Filter: map[string]string{"agent_id": "a1"}}, []string{"c2", "h1", "c1"}},
			{ListOptions{Filter: map[string]string{"parent_id": "h1"}}, []string{"c2", "c1"}},
			{ListOptions{Filter: map[string]string{"label": "env=prod"}}, []string{"h1"}},
			{ListOptions{Filter: map[string]string{"environment": "production"}}, []string{"h2"}},
			{ListOptions{Filter: map[string]string{"environment": "staging"}}, nil},
			{ListOptions{Filter: map[string]string{"label": "env="}}, nil},
			{ListOptions{Filter: map[string]string{"min_risk": "3.5"}}, []string{"h1", "h2", "c1"}},
			{ListOptions{Filter: map[string]string{"min_risk": "8", "kind": "container"}, Sort: "risk"}, []string{"c1"}},
		} {
			if got := ids(tc.o); !gocmp.Equal(got, tc.want) {
				t.Errorf("ListAssets(%+v) = %v, want %v", tc.o, got, tc.want)
			}
		}
		for _, f := range []map[string]string{{"gone": "maybe"}, {"label": "=x"}, {"min_risk": "NaN"}, {"hostname": "x"}} {
			_, err := db.ListAssets(ctx, ListOptions{Filter: f})
			wantErr(t, fmt.Sprint("ListAssets ", f), err, ErrInvalid)
		}
	})
}

// TestListInvalid checks every list refuses unknown sorts and filters
// and foreign or damaged cursors.
func TestListInvalid(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		for i := range 3 {
			_, err := db.CreateUser(ctx, User{Name: fmt.Sprint("u", i), Role: RoleAdmin})
			must(t, err)
			must(t, db.AddEvents(ctx, []Event{{Kind: "x", Time: at(time.Duration(i) * time.Second)}}))
		}
		p, err := db.ListUsers(ctx, ListOptions{Limit: 1})
		must(t, err)
		userCursor := p.Next
		ep, err := db.ListEvents(ctx, ListOptions{Limit: 1})
		must(t, err)
		if userCursor == "" || ep.Next == "" {
			t.Fatal("no cursors")
		}
		// The user cursor is valid for its own list.
		if _, err := db.ListUsers(ctx, ListOptions{Limit: 1, Cursor: userCursor}); err != nil {
			t.Fatalf("own cursor: %v", err)
		}
		forged := base64.RawURLEncoding.EncodeToString([]byte(`{"l":"users","s":"name","v":1,"t":["x"]}`))
		for name, o := range map[string]ListOptions{
			"unknown sort":         {Sort: "password"},
			"unknown filter":       {Filter: map[string]string{"password_hash": "x"}},
			"negative limit":       {Limit: -1},
			"cursor of events":     {Cursor: ep.Next},
			"cursor of other sort": {Sort: "created", Cursor: userCursor},
			"cursor of other way":  {Desc: true, Cursor: userCursor},
			"garbage cursor":       {Cursor: "!!!"},
			"not JSON cursor":      {Cursor: base64.RawURLEncoding.EncodeToString([]byte("hello"))},
			"forged cursor":        {Cursor: forged},
			"long cursor":          {Cursor: string(make([]byte, 5000))},
		} {
			_, err := db.ListUsers(ctx, o)
			wantErr(t, name, err, ErrInvalid)
		}
		// Every list refuses an unknown sort, an unknown filter and the
		// user cursor.
		lists := map[string]func(ListOptions) error{
			"tokens":          func(o ListOptions) error { _, err := db.ListTokens(ctx, o); return err },
			"audit":           func(o ListOptions) error { _, err := db.ListAudit(ctx, o); return err },
			"enroll":          func(o ListOptions) error { _, err := db.ListEnrollTokens(ctx, o); return err },
			"agents":          func(o ListOptions) error { _, err := db.ListAgents(ctx, o); return err },
			"assets":          func(o ListOptions) error { _, err := db.ListAssets(ctx, o); return err },
			"packages":        func(o ListOptions) error { _, err := db.ListPackages(ctx, o); return err },
			"findings":        func(o ListOptions) error { _, err := db.ListFindings(ctx, o); return err },
			"vulnerabilities": func(o ListOptions) error { _, err := db.ListVulnerabilities(ctx, o); return err },
			"events":          func(o ListOptions) error { _, err := db.ListEvents(ctx, o); return err },
			"items": func(o ListOptions) error {
				if o.Filter == nil {
					o.Filter = map[string]string{}
				}
				o.Filter["kind"] = "user"
				_, err := db.ListItems(ctx, o)
				return err
			},
		}
		for name, fn := range lists {
			if err := fn(ListOptions{}); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			wantErr(t, name+" unknown sort", fn(ListOptions{Sort: "nope"}), ErrInvalid)
			wantErr(t, name+" unknown filter", fn(ListOptions{Filter: map[string]string{"nope": "1"}}), ErrInvalid)
			wantErr(t, name+" user cursor", fn(ListOptions{Cursor: userCursor}), ErrInvalid)
		}
	})
}

// checkPaging reads a list for every sort in both directions, whole and
// in pages of 7, and checks the pages join up into the whole list (no
// duplicates, no gaps), the whole list is in order, and the two
// directions are each other's reverse.
func checkPaging[T any](t *testing.T, n int, sorts []string, o ListOptions, list func(ListOptions) (Page[T], error),
	id func(T) string, compare func(a, b T, sort string) int) {
	t.Helper()
	for _, sort := range sorts {
		var whole [2][]string
		for d, desc := range []bool{false, true} {
			o := o
			o.Sort, o.Desc = sort, desc
			o.Limit = 1000
			p, err := list(o)
			if err != nil {
				t.Fatalf("sort %s desc %v: %v", sort, desc, err)
			}
			if p.Next != "" || len(p.Items) != n {
				t.Fatalf("sort %s desc %v: %d items (next %q), want %d", sort, desc, len(p.Items), p.Next, n)
			}
			for i := 1; i < len(p.Items); i++ {
				c := compare(p.Items[i-1], p.Items[i], sort)
				if c == 0 {
					c = cmp.Compare(id(p.Items[i-1]), id(p.Items[i]))
				}
				if (c >= 0 && !desc) || (c <= 0 && desc) {
					t.Fatalf("sort %s desc %v: %s before %s", sort, desc, id(p.Items[i-1]), id(p.Items[i]))
				}
			}
			for _, x := range p.Items {
				whole[d] = append(whole[d], id(x))
			}
			paged := pageAll(t, 7, o, list)
			var got []string
			for _, x := range paged {
				got = append(got, id(x))
			}
			if diff := gocmp.Diff(whole[d], got); diff != "" {
				t.Errorf("sort %s desc %v: pages differ from the whole list (-whole +pages):\n%s", sort, desc, diff)
			}
		}
		rev := slices.Clone(whole[1])
		slices.Reverse(rev)
		if !slices.Equal(whole[0], rev) {
			t.Errorf("sort %s: descending is not the reverse of ascending", sort)
		}
	}
}

func TestPaging(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		const n = 250
		newAgent(t, db, "a1")
		// Sort values repeat so that ties are broken by id.
		ingest(t, db, "a1", func(in Ingester) error {
			for i := range n {
				a := Asset{ID: fmt.Sprintf("as-%03d", (i*37)%n), Kind: AssetHost, Name: fmt.Sprintf("host-%02d", i%40), AgentID: "a1",
					FirstSeen: at(time.Duration(i%20) * time.Minute), LastSeen: at(time.Duration(i%13) * time.Minute)}
				if err := in.UpsertAsset(ctx, a); err != nil {
					return err
				}
			}
			return nil
		})
		for i := range n {
			must(t, db.SetAssetRisk(ctx, fmt.Sprintf("as-%03d", i), float64(i%10)/3))
		}
		t.Run("assets", func(t *testing.T) {
			checkPaging(t, n, []string{"name", "last_seen", "first_seen", "risk"}, ListOptions{},
				func(o ListOptions) (Page[Asset], error) { return db.ListAssets(ctx, o) },
				func(a Asset) string { return a.ID },
				func(a, b Asset, sort string) int {
					switch sort {
					case "name":
						return cmp.Compare(a.Name, b.Name)
					case "last_seen":
						return a.LastSeen.Compare(b.LastSeen)
					case "first_seen":
						return a.FirstSeen.Compare(b.FirstSeen)
					}
					return cmp.Compare(a.Risk, b.Risk)
				})
		})

		// Findings of one asset, and vulnerabilities over 250 rules.
		var fs []Finding
		for i := range n {
			fs = append(fs, Finding{ID: fmt.Sprintf("f-%03d", (i*101)%n), RuleID: fmt.Sprintf("CVE-%03d", i), Risk: float64(i%7) / 2,
				Severity: severityNames[i%5], Package: fmt.Sprintf("pkg%d", i%9)})
		}
		_, err := db.SyncFindings(ctx, "as-000", "vulnerability", fs, t0)
		must(t, err)
		_, err = db.SyncFindings(ctx, "as-000", "vulnerability", fs[:150], at(time.Hour))
		must(t, err)
		t.Run("findings", func(t *testing.T) {
			checkPaging(t, n, []string{"risk", "first_seen", "last_seen", "severity"}, ListOptions{},
				func(o ListOptions) (Page[Finding], error) { return db.ListFindings(ctx, o) },
				func(f Finding) string { return f.ID },
				func(a, b Finding, sort string) int {
					switch sort {
					case "risk":
						return cmp.Compare(a.Risk, b.Risk)
					case "first_seen":
						return a.FirstSeen.Compare(b.FirstSeen)
					case "last_seen":
						return a.LastSeen.Compare(b.LastSeen)
					}
					return cmp.Compare(slices.Index(severityNames, a.Severity), slices.Index(severityNames, b.Severity))
				})
		})
		t.Run("vulnerabilities", func(t *testing.T) {
			checkPaging(t, n, []string{"risk", "assets", "id"}, ListOptions{},
				func(o ListOptions) (Page[Vulnerability], error) { return db.ListVulnerabilities(ctx, o) },
				func(v Vulnerability) string { return v.ID },
				func(a, b Vulnerability, sort string) int {
					switch sort {
					case "risk":
						return cmp.Compare(a.Risk, b.Risk)
					case "assets":
						return cmp.Compare(a.Assets, b.Assets)
					}
					return 0
				})
		})

		// Packages over two assets (ties broken by asset, then ID).
		ingest(t, db, "a1", func(in Ingester) error {
			for _, asset := range []string{"as-001", "as-002"} {
				var ps []Package
				for i := range n / 2 {
					ps = append(ps, Package{ID: fmt.Sprintf("p-%03d", (i*7)%(n/2)), Name: fmt.Sprintf("pkg-%02d", i%30), Ecosystem: []string{"Debian", "PyPI", "npm"}[i%3]})
				}
				if err := in.ReplacePackages(ctx, asset, ps); err != nil {
					return err
				}
			}
			return nil
		})
		t.Run("packages", func(t *testing.T) {
			checkPaging(t, n, []string{"name", "ecosystem"}, ListOptions{},
				func(o ListOptions) (Page[Package], error) { return db.ListPackages(ctx, o) },
				func(p Package) string { return p.AssetID + "/" + p.ID },
				func(a, b Package, sort string) int {
					if sort == "name" {
						return cmp.Compare(a.Name, b.Name)
					}
					return cmp.Compare(a.Ecosystem, b.Ecosystem)
				})
		})

		// Items of one kind over two assets.
		ingest(t, db, "a1", func(in Ingester) error {
			for _, asset := range []string{"as-001", "as-002"} {
				var items []Item
				for i := range n / 2 {
					items = append(items, Item{Kind: "user", Key: fmt.Sprintf("user-%03d", i)})
				}
				if err := in.ReplaceItems(ctx, asset, []string{"user"}, items); err != nil {
					return err
				}
			}
			return nil
		})
		t.Run("items", func(t *testing.T) {
			checkPaging(t, n, []string{"key"}, ListOptions{Filter: map[string]string{"kind": "user"}},
				func(o ListOptions) (Page[Item], error) { return db.ListItems(ctx, o) },
				func(it Item) string { return it.Key + "/" + it.AssetID },
				func(a, b Item, sort string) int { return 0 })
		})

		var evs []Event
		for i := range n {
			evs = append(evs, Event{Kind: "k", Time: at(time.Duration(i%17) * time.Second)})
		}
		must(t, db.AddEvents(ctx, evs))
		t.Run("events", func(t *testing.T) {
			checkPaging(t, n, []string{"time"}, ListOptions{},
				func(o ListOptions) (Page[Event], error) { return db.ListEvents(ctx, o) },
				func(e Event) string { return fmt.Sprintf("%06d", e.ID) },
				func(a, b Event, sort string) int { return a.Time.Compare(b.Time) })
		})

		for i := range n {
			must(t, db.Audit(ctx, AuditEntry{Actor: "server", Action: "x", Time: at(time.Duration(i%11) * time.Second)}))
		}
		t.Run("audit", func(t *testing.T) {
			checkPaging(t, n, []string{"time"}, ListOptions{},
				func(o ListOptions) (Page[AuditEntry], error) { return db.ListAudit(ctx, o) },
				func(e AuditEntry) string { return fmt.Sprintf("%06d", e.ID) },
				func(a, b AuditEntry, sort string) int { return a.Time.Compare(b.Time) })
		})

		for i := range n {
			_, err := db.CreateUser(ctx, User{Name: fmt.Sprintf("user-%03d", (i*13)%n), Role: RoleReadOnly, CreatedAt: at(time.Duration(i%9) * time.Second)})
			must(t, err)
		}
		t.Run("users", func(t *testing.T) {
			checkPaging(t, n, []string{"name", "created"}, ListOptions{},
				func(o ListOptions) (Page[User], error) { return db.ListUsers(ctx, o) },
				func(u User) string { return fmt.Sprintf("%06d", u.ID) },
				func(a, b User, sort string) int {
					if sort == "name" {
						return cmp.Compare(a.Name, b.Name)
					}
					return a.CreatedAt.Compare(b.CreatedAt)
				})
		})

		u, err := db.UserByName(ctx, "user-000")
		must(t, err)
		for i := range n {
			_, err := db.CreateToken(ctx, Token{UserID: u.ID, Hash: []byte(fmt.Sprint(i)), CreatedAt: at(time.Duration(i%9) * time.Second)})
			must(t, err)
			_, err = db.CreateEnrollToken(ctx, EnrollToken{Name: "e", Hash: []byte(fmt.Sprint(i)),
				CreatedAt: at(time.Duration(i%9) * time.Second), ExpiresAt: at(time.Duration(i%5) * time.Hour)})
			must(t, err)
		}
		t.Run("tokens", func(t *testing.T) {
			checkPaging(t, n, []string{"created"}, ListOptions{},
				func(o ListOptions) (Page[Token], error) { return db.ListTokens(ctx, o) },
				func(x Token) string { return fmt.Sprintf("%06d", x.ID) },
				func(a, b Token, sort string) int { return a.CreatedAt.Compare(b.CreatedAt) })
		})
		t.Run("enroll", func(t *testing.T) {
			checkPaging(t, n, []string{"created", "expires"}, ListOptions{},
				func(o ListOptions) (Page[EnrollToken], error) { return db.ListEnrollTokens(ctx, o) },
				func(x EnrollToken) string { return fmt.Sprintf("%06d", x.ID) },
				func(a, b EnrollToken, sort string) int {
					if sort == "created" {
						return a.CreatedAt.Compare(b.CreatedAt)
					}
					return a.ExpiresAt.Compare(b.ExpiresAt)
				})
		})

		for i := 1; i < n; i++ { // a1 exists already
			_, err := db.CreateAgent(ctx, Agent{ID: fmt.Sprintf("ag-%03d", (i*11)%n), Hostname: fmt.Sprintf("h%02d", i%30),
				EnrolledAt: at(time.Duration(i%8) * time.Second), LastSeen: at(time.Duration(i%6) * time.Second)})
			must(t, err)
		}
		t.Run("agents", func(t *testing.T) {
			checkPaging(t, n, []string{"hostname", "last_seen", "enrolled"}, ListOptions{},
				func(o ListOptions) (Page[Agent], error) { return db.ListAgents(ctx, o) },
				func(a Agent) string { return a.ID },
				func(a, b Agent, sort string) int {
					switch sort {
					case "hostname":
						return cmp.Compare(a.Hostname, b.Hostname)
					case "last_seen":
						return a.LastSeen.Compare(b.LastSeen)
					}
					return a.EnrolledAt.Compare(b.EnrolledAt)
				})
		})
	})
}

// TestPutAsset: an asset no agent owns is created and updated outside
// agent ingest; an agent's is refused.
func TestPutAsset(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		a := Asset{ID: "repository-1", Kind: AssetRepository, Name: "git.example.internal/infra", FirstSeen: at(time.Hour), LastSeen: at(time.Hour)}
		must(t, db.PutAsset(ctx, a))
		a.Labels, a.LastSeen = map[string]string{"environment": "production"}, at(2*time.Hour)
		must(t, db.PutAsset(ctx, a))
		got, err := db.Asset(ctx, a.ID)
		if err != nil || got.Labels["environment"] != "production" || !got.FirstSeen.Equal(at(time.Hour)) || !got.LastSeen.Equal(at(2*time.Hour)) {
			t.Errorf("asset %+v, %v", got, err)
		}
		if err := db.PutAsset(ctx, Asset{ID: "h9", Kind: AssetHost, AgentID: "a1"}); err == nil {
			t.Error("PutAsset took an agent's asset")
		}
	})
}
