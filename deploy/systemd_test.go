package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/fixture"
)

// unit is a parsed systemd unit file: section → key → every assignment in
// order (an empty assignment is kept: for list settings it resets the list).
type unit struct {
	name     string
	sections map[string]map[string][]string
}

// parseUnit reads the subset of systemd's unit syntax the project uses:
// [Section] headers, Key=Value lines, # and ; comments, and lines continued
// with a trailing backslash (comment lines inside a continuation are skipped,
// as systemd does).
func parseUnit(name string, data []byte) (*unit, error) {
	u := &unit{name: name, sections: map[string]map[string][]string{}}
	var section, pending string
	sc := bufio.NewScanner(bytes.NewReader(data))
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" && pending == "" {
			continue
		}
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line = pending + line
		pending = ""
		if strings.HasPrefix(line, "[") {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("%s:%d: bad section header %q", name, lineNo, line)
			}
			section = line[1 : len(line)-1]
			if _, dup := u.sections[section]; dup {
				return nil, fmt.Errorf("%s:%d: section [%s] twice", name, lineNo, section)
			}
			u.sections[section] = map[string][]string{}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("%s:%d: assignment outside a section", name, lineNo)
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not Key=Value: %q", name, lineNo, line)
		}
		key = strings.TrimSpace(key)
		u.sections[section][key] = append(u.sections[section][key], strings.TrimSpace(value))
	}
	if pending != "" {
		return nil, fmt.Errorf("%s: file ends inside a continued line", name)
	}
	return u, sc.Err()
}

// get returns the last assignment of key (what systemd uses for a scalar).
func (u *unit) get(section, key string) (string, bool) {
	v := u.sections[section][key]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// list returns the effective items of a list setting: assignments
// accumulate, and an empty assignment resets the list.
func (u *unit) list(section, key string) []string {
	var out []string
	for _, v := range u.sections[section][key] {
		if v == "" {
			out = nil
			continue
		}
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// execStart splits ExecStart into argv and its --flag values (both
// "--flag value" and "--flag=value" forms; a flag with no value maps to "").
func (u *unit) execStart(t *testing.T) (argv []string, flags map[string]string) {
	t.Helper()
	v, ok := u.get("Service", "ExecStart")
	if !ok {
		t.Fatalf("%s: no ExecStart", u.name)
	}
	argv = strings.Fields(v)
	flags = map[string]string{}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, hasEq := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !hasEq && i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "-") {
			val = argv[i+1]
			i++
		}
		if _, dup := flags[name]; dup {
			t.Errorf("%s: flag --%s given twice", u.name, name)
		}
		flags[name] = val
	}
	return argv, flags
}

func loadUnit(t *testing.T, name string) *unit {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnit(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// knownDirectives are the settings (systemd 252) the units may use, so that
// a misspelt key fails here even where systemd-analyze is missing.
var knownDirectives = map[string][]string{
	"Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before",
		"ConditionPathExists", "StartLimitIntervalSec", "StartLimitBurst"},
	"Service": {"Type", "ExecStart", "ExecStartPre", "ExecReload", "Restart", "RestartSec",
		"TimeoutStopSec", "TimeoutStartSec", "LimitNOFILE", "Environment", "EnvironmentFile",
		"LoadCredential", "SetCredential", "DynamicUser", "User", "Group", "SupplementaryGroups",
		"StateDirectory", "StateDirectoryMode", "CacheDirectory", "CacheDirectoryMode",
		"RuntimeDirectory", "RuntimeDirectoryMode", "LogsDirectory", "ConfigurationDirectory",
		"WorkingDirectory", "UMask", "NoNewPrivileges", "CapabilityBoundingSet", "AmbientCapabilities",
		"ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateUsers",
		"PrivateNetwork", "ProtectProc", "ProcSubset", "ProtectKernelTunables",
		"ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
		"ProtectHostname", "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime",
		"RestrictSUIDSGID", "LockPersonality", "MemoryDenyWriteExecute", "RemoveIPC",
		"SystemCallArchitectures", "SystemCallFilter", "SystemCallErrorNumber", "ReadOnlyPaths",
		"ReadWritePaths", "InaccessiblePaths", "CPUQuota", "CPUWeight", "MemoryHigh", "MemoryMax",
		"TasksMax", "IOWeight", "Nice", "IOSchedulingClass", "IOSchedulingPriority",
		"OOMScoreAdjust", "DevicePolicy", "DeviceAllow", "IPAddressDeny", "IPAddressAllow"},
	"Install": {"WantedBy", "RequiredBy", "Alias"},
}

func TestUnitFilesKnownDirectives(t *testing.T) {
	for _, name := range []string{"vigil-server.service", "vigil-agent.service"} {
		u := loadUnit(t, name)
		for _, s := range []string{"Unit", "Service", "Install"} {
			if _, ok := u.sections[s]; !ok {
				t.Errorf("%s: no [%s] section", name, s)
			}
		}
		for s, keys := range u.sections {
			known, ok := knownDirectives[s]
			if !ok {
				t.Errorf("%s: unexpected section [%s]", name, s)
				continue
			}
			for k := range keys {
				if !slices.Contains(known, k) {
					t.Errorf("%s: [%s] %s is not a setting this test knows (misspelt?)", name, s, k)
				}
			}
		}
	}
}

// want checks that a scalar setting has the given value.
func want(t *testing.T, u *unit, section, key, value string) {
	t.Helper()
	got, ok := u.get(section, key)
	if !ok {
		t.Errorf("%s: [%s] %s is not set; want %q", u.name, section, key, value)
	} else if got != value {
		t.Errorf("%s: [%s] %s=%q; want %q", u.name, section, key, got, value)
	}
}

// serverFlags and agentFlags are the command-line flags of the two binaries
// the units and the chart may use (TestFlagListsMatchBinaries keeps them
// true).
var (
	serverFlags = []string{"api-addr", "agent-addr", "data", "store", "vulndb", "advisories", "local-agent", "host-root",
		"hostnames", "heartbeat", "inventory", "log-level", "admin-password-file"}
	agentFlags = []string{"server", "server-name", "token", "ca-sha256", "state", "host-root", "docker-socket", "spool-mb",
		"max-cpu", "max-memory", "metrics-addr", "log-level", "version", "runtime", "rules", "response", "alert-log", "standalone", "label",
		"ring-buffer", "watch", "watch-reads", "watch-exec"}
)

func checkFlags(t *testing.T, u *unit, flags map[string]string, known []string) {
	t.Helper()
	for f := range flags {
		if !slices.Contains(known, f) {
			t.Errorf("%s: ExecStart uses unknown flag --%s", u.name, f)
		}
	}
}

// checkCommonHardening holds for both units.
func checkCommonHardening(t *testing.T, u *unit) {
	t.Helper()
	want(t, u, "Service", "NoNewPrivileges", "yes")
	want(t, u, "Service", "ProtectSystem", "strict")
	want(t, u, "Service", "ProtectKernelModules", "yes")
	want(t, u, "Service", "ProtectKernelTunables", "yes")
	want(t, u, "Service", "ProtectControlGroups", "yes")
	want(t, u, "Service", "RestrictSUIDSGID", "yes")
	want(t, u, "Service", "LockPersonality", "yes")
	want(t, u, "Service", "SystemCallArchitectures", "native")
	want(t, u, "Service", "UMask", "0077")
	want(t, u, "Install", "WantedBy", "multi-user.target")
	if len(u.list("Service", "AmbientCapabilities")) != 0 {
		t.Errorf("%s: AmbientCapabilities must be empty", u.name)
	}
	families := u.list("Service", "RestrictAddressFamilies")
	if len(families) == 0 {
		t.Errorf("%s: RestrictAddressFamilies not set", u.name)
	}
	for _, f := range families {
		if f == "AF_PACKET" || strings.HasPrefix(f, "~") {
			t.Errorf("%s: RestrictAddressFamilies must be an allow-list without AF_PACKET; has %q", u.name, f)
		}
	}
	for _, dep := range []string{"Wants", "After"} {
		if !slices.Contains(u.list("Unit", dep), "network-online.target") {
			t.Errorf("%s: [Unit] %s lacks network-online.target", u.name, dep)
		}
	}
	// Secrets never sit in the unit itself.
	for _, env := range u.list("Service", "Environment") {
		up := strings.ToUpper(env)
		if strings.Contains(up, "PASSWORD") || strings.Contains(up, "TOKEN") {
			t.Errorf("%s: secret in Environment=%s", u.name, env)
		}
	}
	argv, flags := u.execStart(t)
	if !filepath.IsAbs(argv[0]) {
		t.Errorf("%s: ExecStart program %q is not absolute", u.name, argv[0])
	}
	if v, ok := flags["token"]; ok {
		t.Errorf("%s: enrollment token %q on the command line (visible in ps)", u.name, v)
	}
}

func TestServerUnit(t *testing.T) {
	u := loadUnit(t, "vigil-server.service")
	checkCommonHardening(t, u)

	// An unprivileged, dynamic identity with nothing but its state directory.
	want(t, u, "Service", "DynamicUser", "yes")
	if user, _ := u.get("Service", "User"); user == "" || user == "root" || user == "0" {
		t.Errorf("User=%q; the server must not run as root", user)
	}
	want(t, u, "Service", "StateDirectory", "vigil")
	want(t, u, "Service", "ProtectHome", "yes")
	want(t, u, "Service", "PrivateTmp", "yes")
	want(t, u, "Service", "PrivateDevices", "yes")
	want(t, u, "Service", "ProtectProc", "invisible")
	want(t, u, "Service", "MemoryDenyWriteExecute", "yes")
	want(t, u, "Service", "RestrictNamespaces", "yes")
	if caps := u.list("Service", "CapabilityBoundingSet"); len(caps) != 0 {
		t.Errorf("CapabilityBoundingSet=%v; the server needs no capability", caps)
	}
	if fam := u.list("Service", "RestrictAddressFamilies"); !slices.Equal(fam, []string{"AF_UNIX", "AF_INET", "AF_INET6"}) {
		t.Errorf("RestrictAddressFamilies=%v; want AF_UNIX AF_INET AF_INET6", fam)
	}
	if f := u.list("Service", "SystemCallFilter"); !slices.Contains(f, "@system-service") || !slices.Contains(f, "~@privileged") {
		t.Errorf("SystemCallFilter=%v; want @system-service and ~@privileged", f)
	}
	if r, _ := u.get("Service", "Restart"); r != "on-failure" && r != "always" {
		t.Errorf("Restart=%q", r)
	}

	argv, flags := u.execStart(t)
	if argv[0] != "/usr/local/bin/vigil" || len(argv) < 2 || argv[1] != "server" {
		t.Errorf("ExecStart=%v; want /usr/local/bin/vigil server …", argv)
	}
	checkFlags(t, u, flags, serverFlags)
	if flags["data"] != "/var/lib/vigil" {
		t.Errorf("--data=%q; want the StateDirectory /var/lib/vigil (the only writable path)", flags["data"])
	}
	if !strings.HasPrefix(flags["api-addr"], "127.0.0.1:") {
		t.Errorf("--api-addr=%q; the plain-HTTP API must listen on loopback", flags["api-addr"])
	}
	if port, err := strconv.Atoi(strings.TrimPrefix(flags["agent-addr"], ":")); err != nil || port < 1024 {
		t.Errorf("--agent-addr=%q; want an unprivileged port (the unit grants no capability)", flags["agent-addr"])
	}
	if flags["local-agent"] != "false" {
		t.Errorf("--local-agent=%q; want false (the agent has its own unit)", flags["local-agent"])
	}
	// The admin password arrives as a credential: --admin-password-file names
	// a file in the credentials directory (%d) that LoadCredential provides.
	pw := flags["admin-password-file"]
	cred, ok := strings.CutPrefix(pw, "%d/")
	if !ok {
		t.Errorf("--admin-password-file=%q; want %%d/<credential>", pw)
	}
	found := false
	for _, lc := range u.list("Service", "LoadCredential") {
		if id, _, _ := strings.Cut(lc, ":"); id == cred {
			found = true
		}
	}
	if !found {
		t.Errorf("no LoadCredential=%s:… for --admin-password-file", cred)
	}
}

func TestAgentUnit(t *testing.T) {
	u := loadUnit(t, "vigil-agent.service")
	checkCommonHardening(t, u)

	if user, ok := u.get("Service", "User"); ok && user != "root" {
		t.Errorf("User=%q; the agent reads the whole host as root", user)
	}
	want(t, u, "Service", "Restart", "always")
	want(t, u, "Service", "StateDirectory", "vigil-agent")
	want(t, u, "Service", "ProtectHome", "read-only")
	want(t, u, "Service", "PrivateDevices", "yes")
	if v, _ := u.get("Service", "PrivateTmp"); v == "yes" || v == "true" {
		t.Errorf("PrivateTmp=%s hides the host's /tmp from the agent", v)
	}
	if v, ok := u.get("Service", "ProtectProc"); ok && v != "default" {
		t.Errorf("ProtectProc=%s hides host processes from the agent", v)
	}

	// Root, but holding only the capabilities reading and tracing need.
	allowed := []string{"CAP_DAC_READ_SEARCH", "CAP_SYS_PTRACE", "CAP_BPF", "CAP_PERFMON", "CAP_SYS_RESOURCE"}
	caps := u.list("Service", "CapabilityBoundingSet")
	if len(caps) == 0 {
		t.Error("CapabilityBoundingSet not set: the agent would keep every root capability")
	}
	for _, c := range caps {
		if !slices.Contains(allowed, c) {
			t.Errorf("CapabilityBoundingSet has %s; allowed: %v", c, allowed)
		}
	}

	argv, flags := u.execStart(t)
	if argv[0] != "/usr/local/bin/vigil-agent" {
		t.Errorf("ExecStart=%v; want /usr/local/bin/vigil-agent …", argv)
	}
	checkFlags(t, u, flags, agentFlags)
	if flags["state"] != "/var/lib/vigil-agent" {
		t.Errorf("--state=%q; want the StateDirectory /var/lib/vigil-agent", flags["state"])
	}
	if flags["host-root"] != "/" {
		t.Errorf("--host-root=%q; want /", flags["host-root"])
	}
	// The enrollment settings come from a root-only environment file.
	if ef, _ := u.get("Service", "EnvironmentFile"); !strings.HasPrefix(strings.TrimPrefix(ef, "-"), "/etc/vigil/") {
		t.Errorf("EnvironmentFile=%q; want a file under /etc/vigil", ef)
	}
	// Temporary files must go somewhere writable under ProtectSystem=strict.
	cache, _ := u.get("Service", "CacheDirectory")
	if !slices.Contains(u.list("Service", "Environment"), "TMPDIR=/var/cache/"+cache) || cache == "" {
		t.Errorf("want Environment=TMPDIR=/var/cache/<CacheDirectory> (CacheDirectory=%q)", cache)
	}

	// The light-agent budget: the agent's own targets sit below the hard
	// ceilings, and the ceilings stay small.
	maxCPU, err := strconv.ParseFloat(flags["max-cpu"], 64)
	if err != nil || maxCPU <= 0 {
		t.Fatalf("--max-cpu=%q: want a positive fraction of a core", flags["max-cpu"])
	}
	quota, _ := u.get("Service", "CPUQuota")
	quotaPct, err := strconv.ParseFloat(strings.TrimSuffix(quota, "%"), 64)
	if err != nil || !strings.HasSuffix(quota, "%") {
		t.Fatalf("CPUQuota=%q: want a percentage", quota)
	}
	if maxCPU*100 >= quotaPct || quotaPct > 20 {
		t.Errorf("--max-cpu %v (%.0f%%) and CPUQuota=%s: want target < quota ≤ 20%%", maxCPU, maxCPU*100, quota)
	}
	maxMem, err := parseBytes(flags["max-memory"])
	if err != nil {
		t.Fatalf("--max-memory: %v", err)
	}
	memMaxS, _ := u.get("Service", "MemoryMax")
	memMax, err := parseBytes(memMaxS)
	if err != nil {
		t.Fatalf("MemoryMax: %v", err)
	}
	// 160M: the inventory plus the runtime sensor (bench/RUNTIME.md).
	if maxMem >= memMax || memMax > 160<<20 {
		t.Errorf("--max-memory %s and MemoryMax=%s: want soft limit < MemoryMax ≤ 160M", flags["max-memory"], memMaxS)
	}
	if hi, ok := u.get("Service", "MemoryHigh"); ok {
		if h, err := parseBytes(hi); err != nil || h < maxMem || h > memMax {
			t.Errorf("MemoryHigh=%s: want between --max-memory and MemoryMax", hi)
		}
	}
}

// parseBytes reads sizes as systemd ("64M", 1024-based) and the agent's
// --max-memory ("48MiB") write them.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return v * u.mult, nil
		}
	}
	return 0, fmt.Errorf("bad size %q (want a unit: K, M, G, KiB, MiB, GiB)", s)
}

func TestParseUnit(t *testing.T) {
	src := "# comment\n[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/a \\\n\t--x 1 \\\n# inside\n\t--y=2\nCapabilityBoundingSet=CAP_A\nCapabilityBoundingSet=\nCapabilityBoundingSet=CAP_B CAP_C\n"
	u, err := parseUnit("t.service", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	argv, flags := u.execStart(t)
	if !slices.Equal(argv, []string{"/bin/a", "--x", "1", "--y=2"}) || flags["x"] != "1" || flags["y"] != "2" {
		t.Errorf("ExecStart: argv %q flags %v", argv, flags)
	}
	if got := u.list("Service", "CapabilityBoundingSet"); !slices.Equal(got, []string{"CAP_B", "CAP_C"}) {
		t.Errorf("list after reset = %v", got)
	}
	for _, bad := range []string{"Key=outside\n", "[Unit\n", "[Unit]\nnoequals\n", "[Unit]\nA=b \\\n"} {
		if _, err := parseUnit("bad", []byte(bad)); err == nil {
			t.Errorf("parseUnit(%q) accepted", bad)
		}
	}
}

// TestSystemdAnalyzeVerify runs systemd's own checker on both units, in a
// scratch root holding the host's system units and stand-in executables
// (verify insists that ExecStart's program exists). Any diagnostic fails
// the test: systemd-analyze reports unknown keys and bad values as warnings
// while still exiting 0. A deliberately broken copy proves it would notice.
func TestSystemdAnalyzeVerify(t *testing.T) {
	fixture.NeedTool(t, "systemd-analyze")
	sysUnits := "/usr/lib/systemd/system"
	if _, err := os.Stat(filepath.Join(sysUnits, "sysinit.target")); err != nil {
		fixture.Unavailable(t, "no systemd unit directory at "+sysUnits+" (systemd not installed)")
	}
	units := []string{"vigil-server.service", "vigil-agent.service"}

	verify := func(t *testing.T, mutate func(name string, data []byte) []byte) string {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "usr/lib/systemd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-a", sysUnits, filepath.Join(root, "usr/lib/systemd/")).CombinedOutput(); err != nil {
			t.Fatalf("copy system units: %v\n%s", err, out)
		}
		for _, dir := range []string{"etc/systemd/system", "usr/local/bin"} {
			if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, bin := range []string{"vigil", "vigil-agent"} {
			if err := os.WriteFile(filepath.Join(root, "usr/local/bin", bin), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range units {
			data, err := os.ReadFile(filepath.Join("systemd", name))
			if err != nil {
				t.Fatal(err)
			}
			if mutate != nil {
				data = mutate(name, data)
			}
			if err := os.WriteFile(filepath.Join(root, "etc/systemd/system", name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("systemd-analyze", append([]string{"verify", "--root=" + root, "--man=no"}, units...)...)
		out, err := cmd.CombinedOutput()
		if err != nil && len(out) == 0 {
			t.Fatalf("systemd-analyze verify: %v (no output)", err)
		}
		return strings.TrimSpace(string(out))
	}

	if out := verify(t, nil); out != "" {
		t.Errorf("systemd-analyze verify reported:\n%s", out)
	}

	t.Run("BrokenCopyIsCaught", func(t *testing.T) {
		out := verify(t, func(name string, data []byte) []byte {
			if name != "vigil-agent.service" {
				return data
			}
			data = bytes.Replace(data, []byte("\nProtectSystem=strict"), []byte("\nProtectSystm=strict"), 1)
			return bytes.Replace(data, []byte("\nCPUQuota=10%"), []byte("\nCPUQuota=lots"), 1)
		})
		for _, w := range []string{"ProtectSystm", "CPU quota"} {
			if !strings.Contains(out, w) {
				t.Errorf("systemd-analyze verify did not report %q; output:\n%s", w, out)
			}
		}
	})
}

// TestFlagListsMatchBinaries checks serverFlags and agentFlags against the
// flags the binaries really define, so the units and the chart cannot use
// a flag that does not exist.
func TestFlagListsMatchBinaries(t *testing.T) {
	dir := t.TempDir()
	for _, b := range []struct {
		pkg, name string
		args      []string
		want      []string
	}{
		{"./cmd/vigil", "vigil", []string{"server", "-h"}, serverFlags},
		{"./cmd/vigil-agent", "vigil-agent", []string{"-h"}, agentFlags},
	} {
		bin := filepath.Join(dir, b.name)
		build := exec.Command("go", "build", "-o", bin, b.pkg)
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
		out, _ := exec.Command(bin, b.args...).CombinedOutput() // -h exits 0 or 2
		var got []string
		for _, line := range strings.Split(string(out), "\n") {
			if f, ok := strings.CutPrefix(strings.TrimSpace(line), "-"); ok && strings.HasPrefix(line, "  -") {
				got = append(got, strings.Fields(f)[0])
			}
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(b.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s flags %v; the deploy tests know %v", b.name, got, want)
		}
	}
}
