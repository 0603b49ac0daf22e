package vuln

import (
	"cmp"
	"slices"

	"github.com/google/osv-scalibr/semantic"
	"github.com/vigil-sec/vigil/internal/advisory"
)

// installed is the version under test, parsed under its ecosystem's
// ordering and, lazily, as SemVer for OSV SEMVER ranges.
type installed struct {
	eco    string
	raw    string
	native version
	semver *version
	bad    bool // the native parse failed
}

func newInstalled(eco, raw string) (*installed, error) {
	v, err := parseVersion(eco, raw)
	if err != nil {
		return nil, err
	}
	return &installed{eco: eco, raw: raw, native: v}, nil
}

// orderFor gives the ordering a range of type t uses.
func (in *installed) orderFor(t advisory.RangeType) (version, bool) {
	if t != advisory.SemVer || in.eco == "Go" {
		// Go's ecosystem ordering is SemVer already (with Go's spellings).
		return in.native, true
	}
	if in.semver == nil {
		v, err := parseVersion("SEMVER", in.raw)
		if err != nil {
			return version{}, false
		}
		in.semver = &v
	}
	return *in.semver, true
}

// hit is what evaluating one Affected entry at a version found.
type hit struct {
	affected bool
	// fixes are the fixed versions closing each affected range just above
	// the version; unfixed is set when an affected range has no fix above
	// it (open-ended, last_affected, or a Versions list entry).
	fixes   []string
	unfixed bool
}

// event is a range event with its version parsed under the range's ordering.
type event struct {
	kind string // "introduced", "fixed", "last_affected", "limit"
	ver  string
	zero bool // introduced "0": before every version
	v    semantic.Version
}

// evaluate applies the OSV evaluation rules
// (https://ossf.github.io/osv-schema/#evaluation) of entry a to the
// installed version: each non-GIT range's events are sorted under the
// range's ordering; the version is affected from an introduced event up
// to the next fixed (excluded) or last_affected (included); limit events
// bound the range above; the Versions list adds exact versions. A range
// whose events cannot be read under the ordering is skipped.
func (in *installed) evaluate(a *advisory.Affected) hit {
	var h hit
	for _, r := range a.Ranges {
		if r.Type == advisory.Git {
			continue
		}
		v, ok := in.orderFor(r.Type)
		if !ok {
			continue
		}
		affected, fix, ok := evalRange(v, r)
		if !ok || !affected {
			continue
		}
		h.affected = true
		if fix == "" {
			h.unfixed = true
		} else {
			h.fixes = append(h.fixes, fix)
		}
	}
	for _, s := range a.Versions {
		if c, err := in.native.compare(s); (err == nil && c == 0) || s == in.raw {
			h.affected = true
			if len(h.fixes) == 0 {
				h.unfixed = true
			}
			break
		}
	}
	return h
}

// evalRange says whether v is in range r and, if so, the fixed version
// that closes the interval v is in ("" when none does). ok is false when
// an event's version cannot be read.
func evalRange(v version, r advisory.Range) (affected bool, fix string, ok bool) {
	events := make([]event, 0, len(r.Events))
	var limits []event
	for _, e := range r.Events {
		var ev event
		switch {
		case e.Introduced != "":
			ev = event{kind: "introduced", ver: e.Introduced, zero: e.Introduced == "0"}
		case e.Fixed != "":
			ev = event{kind: "fixed", ver: e.Fixed}
		case e.LastAffected != "":
			ev = event{kind: "last_affected", ver: e.LastAffected}
		case e.Limit != "":
			ev = event{kind: "limit", ver: e.Limit, zero: e.Limit == "*"}
		default:
			continue
		}
		if !ev.zero {
			pv, err := parseVersion(v.eco, ev.ver)
			if err != nil {
				return false, "", false
			}
			ev.v = pv.v
		}
		if ev.kind == "limit" {
			limits = append(limits, ev)
			continue
		}
		events = append(events, ev)
	}
	var sortErr bool
	slices.SortStableFunc(events, func(a, b event) int {
		switch {
		case a.zero && b.zero:
			return 0
		case a.zero:
			return -1
		case b.zero:
			return +1
		}
		c, err := a.v.Compare(b.v)
		if err != nil {
			sortErr = true
		}
		return cmp.Compare(c, 0)
	})
	if sortErr {
		return false, "", false
	}
walk:
	for _, e := range events {
		c := +1 // v against e; introduced "0" is below every version
		if !e.zero {
			var err error
			if c, err = v.v.Compare(e.v); err != nil {
				return false, "", false
			}
		}
		switch e.kind {
		case "introduced":
			if c >= 0 {
				affected = true
				continue
			}
		case "fixed":
			if c >= 0 {
				affected = false
				continue
			}
			if affected {
				fix = e.ver
			}
		case "last_affected":
			if c > 0 {
				affected = false
				continue
			}
		}
		// e is above v (or is v's last affected version), and so is every
		// later event: the interval v is in is known, and e ends it.
		break walk
	}
	if affected && len(limits) > 0 {
		below := false
		for _, l := range limits {
			if l.zero {
				below = true
				break
			}
			if c, err := v.v.Compare(l.v); err == nil && c < 0 {
				below = true
				break
			}
		}
		affected = below
	}
	if !affected {
		fix = ""
	}
	return affected, fix, true
}
