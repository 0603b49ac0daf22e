package advisory

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// debianReleases maps Debian codenames to the release numbers of Debian's
// distro-info-data (debian.csv), which the OSV schema prescribes for the
// "Debian:<RELEASE>" ecosystem: "4.0" for etch, "7" for wheezy.
var debianReleases = map[string]string{
	"buzz":     "1.1",
	"rex":      "1.2",
	"bo":       "1.3",
	"hamm":     "2.0",
	"slink":    "2.1",
	"potato":   "2.2",
	"woody":    "3.0",
	"sarge":    "3.1",
	"etch":     "4.0",
	"lenny":    "5.0",
	"squeeze":  "6.0",
	"wheezy":   "7",
	"jessie":   "8",
	"stretch":  "9",
	"buster":   "10",
	"bullseye": "11",
	"bookworm": "12",
	"trixie":   "13",
	"forky":    "14",
	"duke":     "15",
}

// Bounds per advisory, so a hostile list cannot grow one record without
// limit.
const (
	maxDebianAffected = 10_000
	maxDebianAliases  = 10_000
)

// ParseDebianList reads the Debian security tracker's DSA or DLA list
// (data/DSA/list, data/DLA/list) and calls fn once per advisory, in file
// order:
//
//	[13 Mar 2023] DSA-5372-1 rails - security update
//		{CVE-2021-22942 CVE-2021-44528}
//		[bullseye] - rails 2:6.0.3.7+dfsg-2+deb11u1
//		NOTE: ...
//
// ID is the advisory's id as written ("DSA-5389-1"; the oldest DSAs have no
// revision, "DSA-1304"), Source "debian", Aliases its CVEs, Summary the rest
// of the header ("rails - security update"), Published its date. Each
// "[codename] - source version" line becomes one Affected: Ecosystem
// "Debian:<release>" (see debianReleases), Package the source package,
// Ranges [{ECOSYSTEM, introduced 0, fixed version}], and Severity the
// urgency given in parentheses, if any. "<not-affected>" lines add
// nothing; "<unfixed>" and "<end-of-life>" lines add an Affected whose
// range has no fix.
//
// A line that cannot be used (unknown codename, unknown state, no version,
// text outside any advisory) does not stop the parse: the advisory is
// still passed to fn, with what could be read, together with an error
// listing the bad lines (wrapping ErrUnknownRelease or ErrFormat). Lines
// before the first header are reported with an Advisory without ID. If fn
// returns an error, ParseDebianList stops and returns it; read errors and
// lines over 1 MiB end the parse too.
func ParseDebianList(r io.Reader, fn func(Advisory, error) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		cur    *Advisory
		errs   []error
		lineNo int
	)
	flush := func() error {
		if cur == nil && len(errs) == 0 {
			return nil
		}
		var a Advisory
		if cur != nil {
			a = *cur
		}
		var err error
		if len(errs) > 0 {
			err = errors.Join(errs...)
			if a.ID != "" {
				err = fmt.Errorf("%s: %w", a.ID, err)
			}
		}
		cur, errs = nil, nil
		return fn(a, err)
	}
	lineErr := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: "+format, append([]any{lineNo}, args...)...))
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimRight(sc.Text(), " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == '[' {
			if err := flush(); err != nil {
				return err
			}
			a, err := debianHeader(line)
			if err != nil {
				lineErr("%w", err)
				// Report the bad header on its own; its body lines are
				// then reported as outside any advisory.
				if err := flush(); err != nil {
					return err
				}
				continue
			}
			cur = &a
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			lineErr("%w: unexpected text %q", ErrFormat, clip(line))
			continue
		}
		body := strings.TrimSpace(line)
		if cur == nil {
			lineErr("%w: %q outside any advisory", ErrFormat, clip(body))
			continue
		}
		switch {
		case strings.HasPrefix(body, "NOTE:"):
		case strings.HasPrefix(body, "{"):
			if !strings.HasSuffix(body, "}") {
				lineErr("%w: unterminated CVE list", ErrFormat)
				continue
			}
			for _, id := range strings.Fields(body[1 : len(body)-1]) {
				if len(cur.Aliases) >= maxDebianAliases {
					lineErr("%w: more than %d CVEs", ErrTooLarge, maxDebianAliases)
					break
				}
				cur.Aliases = append(cur.Aliases, id)
			}
		case strings.HasPrefix(body, "["):
			af, ok, err := debianRelease(body)
			if err != nil {
				lineErr("%w", err)
				continue
			}
			if !ok {
				continue
			}
			if len(cur.Affected) >= maxDebianAffected {
				lineErr("%w: more than %d packages", ErrTooLarge, maxDebianAffected)
				continue
			}
			cur.Affected = append(cur.Affected, af)
		default:
			lineErr("%w: unexpected line %q", ErrFormat, clip(body))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%w: line %d longer than %d bytes", ErrTooLarge, lineNo+1, maxLine)
		}
		return fmt.Errorf("parse debian list: %w", err)
	}
	return flush()
}

// debianHeader parses "[13 Mar 2023] DSA-5372-1 rails - security update".
func debianHeader(line string) (Advisory, error) {
	end := strings.IndexByte(line, ']')
	if end < 0 {
		return Advisory{}, fmt.Errorf("%w: header without a closing ']'", ErrFormat)
	}
	date := strings.TrimSpace(line[1:end])
	fields := strings.Fields(line[end+1:])
	if len(fields) == 0 {
		return Advisory{}, fmt.Errorf("%w: header without an advisory id", ErrFormat)
	}
	id := fields[0]
	if !isAdvisoryID(id) {
		return Advisory{}, fmt.Errorf("%w: bad advisory id %q", ErrFormat, clip(id))
	}
	var published time.Time
	for _, layout := range []string{"02 Jan 2006", "2 Jan 2006"} {
		if t, err := time.Parse(layout, date); err == nil {
			published = t
			break
		}
	}
	if published.IsZero() {
		return Advisory{}, fmt.Errorf("%w: %s: bad date %q", ErrFormat, id, clip(date))
	}
	return Advisory{
		ID:        id,
		Source:    "debian",
		Summary:   strings.Join(fields[1:], " "),
		Published: published,
		Affected:  []Affected{},
	}, nil
}

// isAdvisoryID accepts identifiers such as DSA-5372-1, DLA-100-1, DSA-1304.
func isAdvisoryID(id string) bool {
	i := strings.IndexByte(id, '-')
	if i <= 0 || i == len(id)-1 {
		return false
	}
	for _, c := range id[:i] {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	for _, c := range id[i+1:] {
		if (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// debianRelease parses "[bullseye] - rails 2:6.0.3.7+dfsg-2+deb11u1 (low)".
// ok is false for a line that affects nothing (<not-affected>).
func debianRelease(body string) (af Affected, ok bool, err error) {
	end := strings.IndexByte(body, ']')
	if end < 0 {
		return Affected{}, false, fmt.Errorf("%w: release without a closing ']'", ErrFormat)
	}
	codename := strings.TrimSpace(body[1:end])
	rest := strings.TrimSpace(body[end+1:])
	if !strings.HasPrefix(rest, "- ") {
		return Affected{}, false, fmt.Errorf("%w: [%s]: expected \"- package version\"", ErrFormat, clip(codename))
	}
	rest, note, _ := strings.Cut(strings.TrimSpace(rest[2:]), "(")
	fields := strings.Fields(rest)
	if len(fields) != 2 {
		return Affected{}, false, fmt.Errorf("%w: [%s]: expected \"- package version\", got %q", ErrFormat, clip(codename), clip(rest))
	}
	pkg, version := fields[0], fields[1]
	rel, known := debianReleases[codename]
	if !known {
		return Affected{}, false, fmt.Errorf("%w: codename %q", ErrUnknownRelease, clip(codename))
	}
	rg := Range{Type: Ecosystem, Events: []Event{{Introduced: "0"}}}
	switch version {
	case "<not-affected>":
		return Affected{}, false, nil
	case "<unfixed>", "<end-of-life>":
	default:
		if strings.HasPrefix(version, "<") {
			return Affected{}, false, fmt.Errorf("%w: [%s] %s: unknown state %s", ErrFormat, codename, pkg, clip(version))
		}
		rg.Events = append(rg.Events, Event{Fixed: version})
	}
	return Affected{
		Ecosystem: "Debian:" + rel,
		Package:   pkg,
		Ranges:    []Range{rg},
		Severity:  debianUrgency(note),
	}, true, nil
}

// debianUrgency finds an urgency in a release line's note, such as
// "bug #332524; medium". The tracker's "unimportant" maps to "low".
func debianUrgency(note string) string {
	note = strings.TrimSuffix(strings.TrimSpace(note), ")")
	for _, part := range strings.FieldsFunc(note, func(r rune) bool { return r == ';' || r == ',' }) {
		switch u := strings.TrimRight(strings.TrimSpace(part), "*"); u {
		case "low", "medium", "high":
			return u
		case "unimportant":
			return "low"
		}
	}
	return ""
}

// clip shortens text quoted in errors.
func clip(s string) string {
	const n = 80
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
