package hostinv

import (
	"context"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
)

// Service is one systemd service unit.
type Service struct {
	// Name is the unit name ("ssh.service", "getty@.service").
	Name string `json:"name"`
	// Path is the unit file that defines it, as the machine sees it.
	Path        string `json:"path"`
	Description string `json:"description,omitempty"`
	// ExecStart lists the start commands, prefixes ("-", "+", "!", "@")
	// kept, after drop-ins are applied.
	ExecStart []string `json:"execStart,omitempty"`
	User      string   `json:"user,omitempty"`
	Group     string   `json:"group,omitempty"`
	Type      string   `json:"type,omitempty"`
	WantedBy  []string `json:"wantedBy,omitempty"`
	// Enabled says the unit (or, for a template, an instance of it) is
	// linked into a *.wants or *.requires directory of /etc/systemd/system.
	Enabled bool `json:"enabled"`
	// Masked says the unit is linked to /dev/null; nothing else is set.
	Masked bool `json:"masked,omitempty"`
	// Aliases are other names linked to this unit.
	Aliases []string `json:"aliases,omitempty"`
	// DropIns are the *.conf files applied on top of Path, in order.
	DropIns []string `json:"dropIns,omitempty"`
}

// unitDirs are the system unit directories, highest precedence first.
var unitDirs = []string{
	"etc/systemd/system",
	"run/systemd/system",
	"usr/local/lib/systemd/system",
	"usr/lib/systemd/system",
	"lib/systemd/system",
}

// enableDir holds the *.wants and *.requires links of enabled units.
const enableDir = "etc/systemd/system"

// unitScan gathers what the unit directories hold before units are read.
type unitScan struct {
	defs    map[string]string   // unit name → defining file (below root)
	masked  map[string]string   // unit name → masking link
	aliases map[string][]string // target unit name → alias names
	dropIns map[string][]string // "name.d" → drop-in directories, by precedence
}

func (c *collector) collectServices(context.Context) {
	scan := c.scanUnitDirs()
	enabled := c.enabledUnits()
	names := make([]string, 0, len(scan.defs)+len(scan.masked))
	for n := range scan.defs {
		names = append(names, n)
	}
	for n := range scan.masked {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if c.full("service", len(c.snap.Services), "/"+enableDir) {
			return
		}
		var svc Service
		if link, ok := scan.masked[name]; ok {
			svc = Service{Name: name, Path: displayPath(link), Masked: true}
		} else {
			svc = c.readService(name, scan)
		}
		svc.Enabled = enabled[name]
		svc.Aliases = scan.aliases[name]
		c.snap.Services = append(c.snap.Services, svc)
	}
}

// scanUnitDirs lists the service units of every unit directory; a name
// defined (or masked) in a directory of higher precedence hides the others.
func (c *collector) scanUnitDirs() unitScan {
	s := unitScan{defs: map[string]string{}, masked: map[string]string{}, aliases: map[string][]string{}, dropIns: map[string][]string{}}
	seenDirs := map[string]bool{}
	for _, dir := range unitDirs {
		if real, err := c.fs.resolve(dir); err != nil || seenDirs[real] {
			continue // absent, or the same directory as /lib → /usr/lib
		} else {
			seenDirs[real] = true
		}
		for _, e := range c.listDir("service", dir) {
			c.scanUnitEntry(&s, dir, e)
		}
	}
	for target, al := range s.aliases {
		sort.Strings(al)
		s.aliases[target] = slices.Compact(al)
	}
	return s
}

// scanUnitEntry classifies one entry of a unit directory.
func (c *collector) scanUnitEntry(s *unitScan, dir string, e dirEntry) {
	full := path.Join(dir, e.name)
	if e.mode.IsDir() {
		if strings.HasSuffix(e.name, ".service.d") {
			s.dropIns[e.name] = append(s.dropIns[e.name], full)
		}
		return
	}
	if !strings.HasSuffix(e.name, ".service") {
		return
	}
	if _, done := s.defs[e.name]; done {
		return
	}
	if _, done := s.masked[e.name]; done {
		return
	}
	if e.mode&fs.ModeSymlink == 0 {
		if e.mode.IsRegular() {
			s.defs[e.name] = full
		}
		return
	}
	target, err := c.fs.readlink(full)
	if err != nil {
		c.problem("service", displayPath(full), err)
		return
	}
	switch base := path.Base(target); {
	case path.Clean(target) == "/dev/null":
		s.masked[e.name] = full
	case base == e.name: // a unit file linked in from elsewhere
		s.defs[e.name] = full
	default:
		s.aliases[base] = append(s.aliases[base], e.name)
	}
}

// enabledUnits returns the units linked into the *.wants and *.requires
// directories of /etc/systemd/system; an enabled instance ("getty@tty1")
// enables its template ("getty@") too.
func (c *collector) enabledUnits() map[string]bool {
	enabled := map[string]bool{}
	for _, e := range c.listDir("service", enableDir) {
		if !e.mode.IsDir() || !(strings.HasSuffix(e.name, ".wants") || strings.HasSuffix(e.name, ".requires")) {
			continue
		}
		for _, u := range c.listDir("service", path.Join(enableDir, e.name)) {
			enabled[u.name] = true
			if t, ok := templateName(u.name); ok {
				enabled[t] = true
			}
		}
	}
	return enabled
}

// templateName returns the template of an instance unit name
// ("getty@tty1.service" → "getty@.service").
func templateName(name string) (string, bool) {
	at := strings.IndexByte(name, '@')
	dot := strings.LastIndexByte(name, '.')
	if at < 0 || dot < at+2 {
		return "", false
	}
	return name[:at+1] + name[dot:], true
}

// readService reads a unit file and applies its drop-ins.
func (c *collector) readService(name string, scan unitScan) Service {
	file := scan.defs[name]
	svc := Service{Name: name, Path: displayPath(file)}
	data, ok := c.readFile("service", file)
	if !ok {
		return svc
	}
	settings, probs := parseUnit(data)
	c.lineProblems("service", displayPath(file), probs)
	applyUnit(&svc, settings)
	for _, d := range c.dropInFiles(name, scan) {
		data, ok := c.readFile("service", d)
		if !ok {
			continue
		}
		settings, probs := parseUnit(data)
		c.lineProblems("service", displayPath(d), probs)
		applyUnit(&svc, settings)
		svc.DropIns = append(svc.DropIns, displayPath(d))
	}
	return svc
}

// dropInFiles returns the *.conf drop-ins of a unit in the order systemd
// applies them: by file name, a name in a directory of higher precedence
// hiding the same name elsewhere. Template drop-ins come first for an
// instance.
func (c *collector) dropInFiles(name string, scan unitScan) []string {
	dirs := scan.dropIns[name+".d"]
	if t, ok := templateName(name); ok && t != name {
		dirs = slices.Concat(scan.dropIns[t+".d"], dirs)
	}
	byName := map[string]string{}
	for _, dir := range dirs {
		for _, e := range c.listDir("service", dir) {
			if _, hidden := byName[e.name]; !hidden && strings.HasSuffix(e.name, ".conf") && !e.mode.IsDir() {
				byName[e.name] = path.Join(dir, e.name)
			}
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = byName[n]
	}
	return out
}

// applyUnit applies assignments to a service, as systemd does: ExecStart
// and WantedBy accumulate and are reset by an empty value; other keys take
// the last value.
func applyUnit(svc *Service, settings []unitSetting) {
	for _, s := range settings {
		switch s.section + "." + s.key {
		case "Unit.Description":
			svc.Description = s.value
		case "Service.ExecStart":
			svc.ExecStart = appendOrReset(svc.ExecStart, s.value, false)
		case "Service.User":
			svc.User = s.value
		case "Service.Group":
			svc.Group = s.value
		case "Service.Type":
			svc.Type = s.value
		case "Install.WantedBy":
			svc.WantedBy = appendOrReset(svc.WantedBy, s.value, true)
		}
	}
}

// appendOrReset appends value (split into words when split is set) to
// list, or empties list when value is empty.
func appendOrReset(list []string, value string, split bool) []string {
	switch {
	case value == "":
		return nil
	case split:
		return append(list, strings.Fields(value)...)
	case len(list) < maxUnitSettings:
		return append(list, value)
	}
	return list
}
