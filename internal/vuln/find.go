package vuln

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-sec/vigil/internal/advisory"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/inventory"
)

// Options tune Find; the zero value matches everything with no
// suppression.
type Options struct {
	// MinSeverity drops matches graded below it. Matches of unknown
	// severity are always kept: a vulnerability nobody has graded yet is
	// not known to be below the bar (new CVEs are often ungraded for
	// days), and hiding it would be the riskier error.
	MinSeverity finding.Severity
	// IgnoreUnfixed drops matches with no known fix.
	IgnoreUnfixed bool
	// Symbols gives, for a Go package, the function symbols of the binary
	// it came from (see GoSymbols); ok is false when they are unavailable.
	// Nil means reachability is not assessed.
	Symbols func(p inventory.Package) (symbols map[string]bool, ok bool)
	// Suppressors are asked in order; the first active suppression wins.
	Suppressors []Suppressor
	// Now is the clock for suppression expiry; nil means time.Now.
	Now func() time.Time
	// Exposure is what is known of the asset's exposure, for risk.
	Exposure Exposure
}

// Find matches every package of r against the advisories of src and
// returns the report: one Match per vulnerability per package (aliases
// merged), the smallest fixing upgrade per package, and the packages it
// could not match and why. It stops at the first error of src or ctx.
//
// The name is Find, not Match, because Match is the result type.
func Find(ctx context.Context, src Source, r *inventory.Result, o Options) (*Report, error) {
	f := &finder{
		ctx:     ctx,
		src:     src,
		o:       o,
		advs:    map[[2]string][]advisory.Advisory{},
		results: map[query]*queryResult{},
		epss:    map[string]*advisory.EPSS{},
		kev:     map[string]*advisory.KEV{},
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	rep := &Report{Result: r, Matches: []Match{}}
	skipped := map[Skipped]int{}
	for i := range r.Packages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := &r.Packages[i]
		q, why := queryFor(r.Asset.OS, p)
		if why == "" && strings.TrimSpace(q.version) == "" {
			why = skipNoVersion
		}
		if why != "" {
			skipped[Skipped{Ecosystem: p.Ecosystem, Reason: why}]++
			continue
		}
		qr, err := f.resolve(q)
		if err != nil {
			return nil, err
		}
		if qr.skip != "" {
			skipped[Skipped{Ecosystem: p.Ecosystem, Reason: qr.skip}]++
			continue
		}
		var pkgMatches []pkgMatch
		var syms map[string]bool
		symsTried, symsOK := false, false
		for _, g := range qr.groups {
			m := g.match(p)
			if o.MinSeverity > finding.SeverityUnknown && m.Severity != finding.SeverityUnknown && m.Severity < o.MinSeverity {
				continue
			}
			if o.IgnoreUnfixed && len(m.Fixed) == 0 {
				continue
			}
			if g.symbolsKnown && p.Ecosystem == inventory.Go && o.Symbols != nil {
				if !symsTried {
					syms, symsOK = o.Symbols(*p)
					symsTried = true
				}
				if symsOK {
					reach := slices.ContainsFunc(g.symbols, func(s string) bool { return syms[s] })
					m.Reachable = &reach
				}
			}
			m.Risk = riskOf(&m, o.Exposure)
			for _, s := range o.Suppressors {
				sup := s.Suppress(&m, p)
				if sup == nil {
					continue
				}
				if !sup.Expires.IsZero() && !now().Before(sup.Expires) {
					if m.ExpiredSuppression == nil {
						m.ExpiredSuppression = sup
						m.Risk.Reasons = append(m.Risk.Reasons, fmt.Sprintf("%s rule %s expired %s (%s): counted again",
							sup.By, sup.Rule, sup.Expires.Add(-time.Nanosecond).Format(time.DateOnly), sup.Reason))
					}
					continue
				}
				m.Suppressed = sup
				break
			}
			rep.Matches = append(rep.Matches, m)
			pkgMatches = append(pkgMatches, pkgMatch{m: m, g: g})
		}
		if fix, ok := packageFix(p, qr.in, pkgMatches); ok {
			rep.Fixes = append(rep.Fixes, fix)
		}
	}
	slices.SortStableFunc(rep.Matches, func(a, b Match) int {
		if c := cmp.Compare(b.Risk.Score, a.Risk.Score); c != 0 {
			return c
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.PackageID, b.PackageID)
	})
	slices.SortStableFunc(rep.Fixes, func(a, b PackageFix) int {
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return strings.Compare(a.PackageID, b.PackageID)
	})
	for s, n := range skipped {
		s.Packages = n
		rep.Skipped = append(rep.Skipped, s)
	}
	slices.SortFunc(rep.Skipped, func(a, b Skipped) int {
		if c := strings.Compare(string(a.Ecosystem), string(b.Ecosystem)); c != 0 {
			return c
		}
		return strings.Compare(a.Reason, b.Reason)
	})
	return rep, nil
}

// finder holds one Find call's caches: a source package shared by many
// binary packages, or a library vendored many times, is looked up and
// evaluated once.
type finder struct {
	ctx     context.Context
	src     Source
	o       Options
	advs    map[[2]string][]advisory.Advisory
	results map[query]*queryResult
	epss    map[string]*advisory.EPSS // nil value: looked up, none
	kev     map[string]*advisory.KEV
}

// queryResult is the package-independent outcome of one query.
type queryResult struct {
	in     *installed
	groups []*group
	skip   string
}

// group is one vulnerability of one (ecosystem, name, version): the
// advisories merged into it and what they say.
type group struct {
	id         string
	aliases    []string
	advisories []string
	summary    string
	severity   finding.Severity
	cvss       *CVSS
	epss       *advisory.EPSS
	kev        *advisory.KEV
	fixed      []string
	fixVersion string
	// entries are every Affected entry of the group's advisories for this
	// package, to re-check candidate upgrades against.
	entries []*advisory.Affected
	// symbols are the vulnerable Go symbols; symbolsKnown is false when a
	// matched entry names none (the whole package is affected).
	symbols      []string
	symbolsKnown bool
}

func (f *finder) resolve(q query) (*queryResult, error) {
	if qr, ok := f.results[q]; ok {
		return qr, nil
	}
	qr := &queryResult{}
	f.results[q] = qr
	in, err := newInstalled(q.eco, q.version)
	if err != nil {
		qr.skip = skipBadVersion
		return qr, nil
	}
	qr.in = in
	key := [2]string{q.eco, q.name}
	advs, ok := f.advs[key]
	if !ok {
		advs, err = f.src.Affected(f.ctx, q.eco, q.name)
		if err != nil {
			return nil, fmt.Errorf("advisories for %s %s: %w", q.eco, q.name, err)
		}
		f.advs[key] = advs
	}
	var units []unit
	for i := range advs {
		a := &advs[i]
		if !a.Withdrawn.IsZero() {
			continue
		}
		u := unit{adv: a}
		var h hit
		for j := range a.Affected {
			e := &a.Affected[j]
			if e.Ecosystem != q.eco || lookupName(q.eco, e.Package) != q.name {
				continue
			}
			u.entries = append(u.entries, e)
			eh := in.evaluate(e)
			if !eh.affected {
				continue
			}
			u.matched = append(u.matched, e)
			h.affected = true
			h.fixes = append(h.fixes, eh.fixes...)
			h.unfixed = h.unfixed || eh.unfixed
		}
		if !h.affected {
			continue
		}
		u.fixes = h.fixes
		units = append(units, u.split()...)
	}
	for _, members := range mergeUnits(units) {
		g, err := f.newGroup(in, members)
		if err != nil {
			return nil, err
		}
		qr.groups = append(qr.groups, g)
	}
	return qr, nil
}

// newGroup builds the group of merged units.
func (f *finder) newGroup(in *installed, us []unit) (*group, error) {
	g := &group{symbolsKnown: true}
	ids := map[string]bool{}
	advIDs := map[string]bool{}
	var sevs []advisory.Severity
	var fixes []string
	seenEntry := map[*advisory.Affected]bool{}
	var summaries []*advisory.Advisory
	var upstream []string
	for _, u := range us {
		for _, id := range u.ids {
			ids[id] = true
		}
		if !advIDs[u.adv.ID] {
			advIDs[u.adv.ID] = true
			sevs = append(sevs, u.adv.Severity...)
			summaries = append(summaries, u.adv)
			if len(u.keys) == len(u.ids) {
				// Not split: the record's upstream CVEs are this
				// vulnerability's too, for exploitation data.
				upstream = append(upstream, u.adv.Upstream...)
			}
		}
		fixes = append(fixes, u.fixes...)
		for _, e := range u.entries {
			if !seenEntry[e] {
				seenEntry[e] = true
				g.entries = append(g.entries, e)
			}
		}
		for _, e := range u.matched {
			if len(e.Symbols) == 0 {
				g.symbolsKnown = false
			}
			g.symbols = append(g.symbols, e.Symbols...)
			if s := textSeverity(e.Severity); s > g.severity { // replaced below by a CVSS rating, when there is one
				g.severity = s
			}
		}
	}
	g.id = preferredID(ids)
	for id := range ids {
		if id != g.id {
			g.aliases = append(g.aliases, id)
		}
	}
	slices.Sort(g.aliases)
	for id := range advIDs {
		g.advisories = append(g.advisories, id)
	}
	slices.Sort(g.advisories)
	slices.SortFunc(summaries, func(a, b *advisory.Advisory) int {
		// OSV records (GHSA, GO-, PYSEC, RUSTSEC) say more than a DSA title.
		if c := cmpBool(a.Source == "osv", b.Source == "osv"); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, a := range summaries {
		if a.Summary != "" {
			g.summary = a.Summary
			break
		}
	}
	if c, ok := bestCVSS(sevs); ok {
		g.cvss = &c
		g.severity = rating(c.Score)
	}
	if !g.symbolsKnown {
		g.symbols = nil
	} else {
		slices.Sort(g.symbols)
		g.symbols = slices.Compact(g.symbols)
	}
	g.fixed = sortVersions(in.eco, fixes)
	if len(g.fixed) > 0 {
		g.fixVersion = fixSearch(in.eco, g.fixed[len(g.fixed)-1], g.entries)
	}
	// EPSS and KEV: every CVE the vulnerability is known by, and the
	// upstream CVEs a distribution's record covers.
	cves := append([]string{g.id}, g.aliases...)
	cves = append(cves, upstream...)
	slices.Sort(cves)
	for _, id := range slices.Compact(cves) {
		if !isCVE(id) {
			continue
		}
		e, err := f.lookupEPSS(id)
		if err != nil {
			return nil, err
		}
		if e != nil && (g.epss == nil || e.Score > g.epss.Score) {
			g.epss = e
		}
		k, err := f.lookupKEV(id)
		if err != nil {
			return nil, err
		}
		if k != nil && g.kev == nil {
			g.kev = k
		}
	}
	return g, nil
}

// cmpBool orders true before false.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return +1
}

func (f *finder) lookupEPSS(cve string) (*advisory.EPSS, error) {
	if e, ok := f.epss[cve]; ok {
		return e, nil
	}
	e, ok, err := f.src.EPSS(f.ctx, cve)
	if err != nil {
		return nil, fmt.Errorf("epss %s: %w", cve, err)
	}
	var p *advisory.EPSS
	if ok {
		p = &e
	}
	f.epss[cve] = p
	return p, nil
}

func (f *finder) lookupKEV(cve string) (*advisory.KEV, error) {
	if k, ok := f.kev[cve]; ok {
		return k, nil
	}
	k, ok, err := f.src.KEV(f.ctx, cve)
	if err != nil {
		return nil, fmt.Errorf("kev %s: %w", cve, err)
	}
	var p *advisory.KEV
	if ok {
		p = &k
	}
	f.kev[cve] = p
	return p, nil
}

// match is the group as a Match on package p (risk and suppression are
// added by the caller).
func (g *group) match(p *inventory.Package) Match {
	return Match{
		ID:         g.id,
		Aliases:    slices.Clone(g.aliases),
		Advisories: slices.Clone(g.advisories),
		Summary:    g.summary,
		PackageID:  p.ID,
		Package:    p.Name,
		Version:    p.Version,
		Ecosystem:  p.Ecosystem,
		Severity:   g.severity,
		CVSS:       g.cvss,
		EPSS:       g.epss,
		KEV:        g.kev,
		Fixed:      slices.Clone(g.fixed),
		FixVersion: g.fixVersion,
	}
}

// sortVersions sorts versions under ecosystem eco's ordering, without
// duplicates; versions it cannot read go last, in string order.
func sortVersions(eco string, vs []string) []string {
	if len(vs) == 0 {
		return nil
	}
	out := slices.Clone(vs)
	slices.SortStableFunc(out, func(a, b string) int {
		c, err := compareVersions(eco, a, b)
		if err != nil {
			return strings.Compare(a, b)
		}
		return c
	})
	return slices.CompactFunc(out, func(a, b string) bool {
		c, err := compareVersions(eco, a, b)
		return a == b || (err == nil && c == 0)
	})
}
