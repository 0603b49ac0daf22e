package hostinv

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procStatLine formats /proc/PID/stat with the fields the collector reads.
func procStatLine(pid int, comm, state string, ppid int, start uint64) string {
	return strings.Join([]string{
		strconv.Itoa(pid), "(" + comm + ")", state, strconv.Itoa(ppid),
		"1 1 0 -1 4194560 100 0 0 0 3 1 0 0 20 0 1 0", // fields 5-21
		strconv.FormatUint(start, 10), "15163392 1867 18446744073709551615",
	}, " ") + "\n"
}

// fakeHost is a whole machine below a temporary root.
func fakeHost(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "evil-cron")
	if err := os.WriteFile(outside, []byte("* * * * * root SHOULD_NOT_APPEAR\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree{
		files: map[string]string{
			// system
			"usr/lib/os-release":                             "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
			"etc/machine-id":                                 "0123456789abcdef0123456789abcdef\n",
			"etc/hostname":                                   "ignored-when-proc-has-it\n",
			"proc/sys/kernel/osrelease":                      "6.1.0-18-amd64\n",
			"proc/sys/kernel/version":                        "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)\n",
			"proc/sys/kernel/hostname":                       "web1.example.com\n",
			"proc/stat":                                      "cpu  1 2 3 4\nintr 5\nbtime 1700000000\nprocesses 99\n",
			"proc/modules":                                   procModules + "broken line\n",
			"etc/passwd":                                     testPasswd,
			"etc/group":                                      "root:x:0:\nsudo:x:27:alice\nwww-data:x:33:\n",
			"proc/1/stat":                                    procStatLine(1, "systemd", "S", 0, 5),
			"proc/1/status":                                  "Name:\tsystemd\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nVmRSS:\t 12000 kB\n",
			"proc/1/cmdline":                                 "/sbin/init\x00splash\x00",
			"proc/812/stat":                                  procStatLine(812, "nginx", "S", 1, 1500),
			"proc/812/status":                                "Name:\tnginx\nUid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\nVmRSS:\t 5120 kB\n",
			"proc/812/cmdline":                               "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
			"proc/900/stat":                                  procStatLine(900, "kworker/0:1", "I", 2, 200),
			"proc/901/stat":                                  "garbage\n",
			"proc/self/stat":                                 "not a pid directory",
			"proc/net/tcp":                                   tcpHeader + socketRow(0, "0.0.0.0", 80, stateListen, 0, 5001) + socketRow(1, "10.0.0.5", 80, 0x01, 33, 5002) + socketRow(2, "127.0.0.1", 5432, stateListen, 106, 5003),
			"proc/net/tcp6":                                  tcpHeader + socketRow(0, "::", 80, stateListen, 0, 5004),
			"proc/net/udp":                                   tcpHeader + socketRow(0, "0.0.0.0", 68, stateClose, 0, 5005) + socketRow(1, "10.0.0.5", 40000, 0x01, 0, 5006),
			"proc/812/fd/0":                                  "",
			"etc/sudoers":                                    debianSudoers + "#include sudoers.local\n",
			"etc/sudoers.local":                              "alice ALL = (root) NOPASSWD: /usr/bin/systemctl restart nginx\nnonsense here\n",
			"etc/sudoers.d/deploy":                           "Defaults:deploy !requiretty\ndeploy ALL=(www-data) NOPASSWD: ALL\n",
			"etc/sudoers.d/README.txt":                       "root ALL=(ALL) ALL\n", // has a '.': sudo skips it
			"etc/sudoers.d/loop":                             "#include /etc/sudoers\n",
			"etc/crontab":                                    debianCrontab,
			"etc/cron.d/backup":                              "MAILTO=root\n30 2 * * * backup /usr/local/bin/backup.sh\nbad line\n",
			"etc/cron.d/.placeholder":                        "# hidden\n",
			"var/spool/cron/crontabs/bob":                    "@reboot /home/bob/agent\n",
			"etc/cron.daily/logrotate":                       "#!/bin/sh\n",
			"etc/cron.daily/.placeholder":                    "",
			"usr/lib/systemd/system/ssh.service":             sshUnit,
			"usr/lib/systemd/system/getty@.service":          "[Unit]\nDescription=Getty on %I\n[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --noclear - $TERM\n",
			"usr/lib/systemd/system/cron.service":            "[Unit]\nDescription=Regular background program processing daemon\n[Service]\nExecStart=/usr/sbin/cron -f\n",
			"usr/lib/systemd/system/evil.service":            "[Service]\nExecStart=/tmp/evil\n",
			"usr/lib/systemd/system/not-a-service.timer":     "[Timer]\nOnCalendar=daily\n",
			"etc/systemd/system/app.service":                 "[Unit]\nDescription=App\n[Service]\nUser=app\nExecStart=/opt/app/bin/app\n",
			"etc/systemd/system/ssh.service.d/override.conf": "[Service]\nExecStart=\nExecStart=/usr/sbin/sshd -D -o LogLevel=VERBOSE\n",
			"etc/systemd/system/ssh.service.d/10-user.conf":  "[Service]\nUser=root\n",
		},
		links: map[string]string{
			"etc/os-release":     "../usr/lib/os-release",
			"lib":                "usr/lib",
			"proc/1/exe":         "/usr/lib/systemd/systemd",
			"proc/812/exe":       "/usr/sbin/nginx (deleted)",
			"proc/1/fd/0":        "/dev/null",
			"proc/812/fd/6":      "socket:[5001]",
			"proc/812/fd/7":      "socket:[5004]",
			"proc/812/fd/8":      "pipe:[77]",
			"etc/cron.d/escape":  outside,
			"etc/cron.d/escape2": "../../../../../../../../../../.." + outside,
			"etc/systemd/system/multi-user.target.wants/ssh.service":   "/lib/systemd/system/ssh.service",
			"etc/systemd/system/multi-user.target.wants/app.service":   "/etc/systemd/system/app.service",
			"etc/systemd/system/getty.target.wants/getty@tty1.service": "/lib/systemd/system/getty@.service",
			"etc/systemd/system/sshd.service":                          "/lib/systemd/system/ssh.service",
			"etc/systemd/system/evil.service":                          "/dev/null",
		},
	}.build(t, root)
	return root
}

func TestCollectFakeHost(t *testing.T) {
	root := fakeHost(t)
	s, err := Collect(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("system", func(t *testing.T) {
		if s.OS.ID != "debian" || s.OS.VersionID != "12" || s.OS.PrettyName != "Debian GNU/Linux 12 (bookworm)" {
			t.Errorf("OS %+v", s.OS)
		}
		if s.Kernel.Release != "6.1.0-18-amd64" || !strings.HasPrefix(s.Kernel.Version, "#1 SMP") || s.Kernel.Arch == "" {
			t.Errorf("kernel %+v", s.Kernel)
		}
		if s.Hostname != "web1.example.com" || s.MachineID != "0123456789abcdef0123456789abcdef" {
			t.Errorf("hostname %q machine ID %q", s.Hostname, s.MachineID)
		}
		if want := time.Unix(1700000000, 0).UTC(); !s.BootTime.Equal(want) {
			t.Errorf("boot time %v, want %v", s.BootTime, want)
		}
		if len(s.IPs) != 0 {
			t.Errorf("IPs %v read for a fake root", s.IPs)
		}
	})

	t.Run("processes", func(t *testing.T) {
		if len(s.Processes) != 3 {
			t.Fatalf("got %d processes, want 3: %+v", len(s.Processes), s.Processes)
		}
		nginx := s.Processes[1]
		want := Process{
			PID: 812, PPID: 1, Name: "nginx", Exe: "/usr/sbin/nginx (deleted)", ExeDeleted: true,
			Cmdline: []string{"nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"},
			UID:     33, EUID: 33, GID: 33, User: "www-data", StartTicks: 1500,
			StartTime: time.Unix(1700000015, 0).UTC(), RSS: 5120 * 1024, State: "S",
		}
		if !reflect.DeepEqual(nginx, want) {
			t.Errorf("nginx\n got %+v\nwant %+v", nginx, want)
		}
		if p := s.Processes[0]; p.PID != 1 || p.User != "root" || p.Exe != "/usr/lib/systemd/systemd" || !reflect.DeepEqual(p.Cmdline, []string{"/sbin/init", "splash"}) {
			t.Errorf("init %+v", p)
		}
		if p := s.Processes[2]; p.PID != 900 || p.Exe != "" || p.Cmdline != nil || p.State != "I" {
			t.Errorf("kernel thread %+v", p)
		}
		if !hasProblem(s, "process", "proc/901") {
			t.Errorf("no problem for the garbage stat file: %+v", s.Problems)
		}
	})

	t.Run("ports", func(t *testing.T) {
		want := []Port{
			{Proto: "tcp", Address: "0.0.0.0", Port: 80, PID: 812, Process: "nginx"},
			{Proto: "tcp", Address: "127.0.0.1", Port: 5432, UID: 106},
			{Proto: "tcp6", Address: "::", Port: 80, PID: 812, Process: "nginx"},
			{Proto: "udp", Address: "0.0.0.0", Port: 68},
		}
		if !reflect.DeepEqual(s.Ports, want) {
			t.Errorf("\n got %+v\nwant %+v", s.Ports, want)
		}
	})

	t.Run("users and groups", func(t *testing.T) {
		if len(s.Users) != 4 || s.Users[3].Name != "alice" || s.Users[3].Shell != "/bin/zsh" {
			t.Errorf("users %+v", s.Users)
		}
		if len(s.Groups) != 3 || !reflect.DeepEqual(s.Groups[1].Members, []string{"alice"}) {
			t.Errorf("groups %+v", s.Groups)
		}
	})

	t.Run("sudo", func(t *testing.T) {
		var got []string
		for _, r := range s.Sudoers {
			got = append(got, r.File+" "+strings.Join(r.Users, ",")+" "+strings.Join(r.Commands, ","))
		}
		want := []string{
			"/etc/sudoers root ALL",
			"/etc/sudoers %sudo ALL",
			"/etc/sudoers.d/deploy deploy ALL", // @includedir comes before #include in the file
			"/etc/sudoers.local alice /usr/bin/systemctl restart nginx",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("\n got %q\nwant %q", got, want)
		}
		if !s.Sudoers[2].NoPasswd || !reflect.DeepEqual(s.Sudoers[2].RunAsUsers, []string{"www-data"}) {
			t.Errorf("deploy rule %+v", s.Sudoers[2])
		}
		if n := len(s.SudoDefaults); n != 5 || s.SudoDefaults[4].Binding != ":deploy" {
			t.Errorf("defaults %+v", s.SudoDefaults)
		}
		if !hasProblem(s, "sudo", "/etc/sudoers.local") {
			t.Errorf("no problem for the nonsense line: %+v", s.Problems)
		}
		if !hasProblem(s, "sudo", "/etc/sudoers.d/loop") {
			t.Errorf("no problem for the include loop: %+v", s.Problems)
		}
	})

	t.Run("cron", func(t *testing.T) {
		var got []string
		for _, j := range s.CronJobs {
			got = append(got, j.File+"|"+j.Schedule+"|"+j.User+"|"+j.Command)
			if strings.Contains(j.Command, "SHOULD_NOT_APPEAR") {
				t.Errorf("read a crontab outside the root: %+v", j)
			}
		}
		want := []string{
			"/etc/crontab|17 * * * *|root|cd / && run-parts --report /etc/cron.hourly",
			"/etc/crontab|25 6 * * *|root|test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }",
			"/etc/crontab|47 6 * * 7|root|test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }",
			"/etc/crontab|52 6 1 * *|root|test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }",
			"/etc/cron.d/backup|30 2 * * *|backup|/usr/local/bin/backup.sh",
			"/var/spool/cron/crontabs/bob|@reboot|bob|/home/bob/agent",
			"/etc/cron.daily|@daily|root|/etc/cron.daily/logrotate",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("\n got %q\nwant %q", got, want)
		}
		if !hasProblem(s, "cron", "/etc/cron.d/backup") {
			t.Errorf("no problem for the bad cron line: %+v", s.Problems)
		}
	})

	t.Run("services", func(t *testing.T) {
		byName := map[string]Service{}
		var names []string
		for _, svc := range s.Services {
			byName[svc.Name] = svc
			names = append(names, svc.Name)
		}
		if want := []string{"app.service", "cron.service", "evil.service", "getty@.service", "ssh.service"}; !reflect.DeepEqual(names, want) {
			t.Errorf("services %q, want %q", names, want)
		}
		ssh := byName["ssh.service"]
		wantSSH := Service{
			Name: "ssh.service", Path: "/usr/lib/systemd/system/ssh.service", Description: "OpenBSD Secure Shell server",
			ExecStart: []string{"/usr/sbin/sshd -D -o LogLevel=VERBOSE"}, User: "root", Type: "notify",
			WantedBy: []string{"multi-user.target"}, Enabled: true, Aliases: []string{"sshd.service"},
			DropIns: []string{"/etc/systemd/system/ssh.service.d/10-user.conf", "/etc/systemd/system/ssh.service.d/override.conf"},
		}
		if !reflect.DeepEqual(ssh, wantSSH) {
			t.Errorf("ssh\n got %+v\nwant %+v", ssh, wantSSH)
		}
		if evil := byName["evil.service"]; !evil.Masked || evil.ExecStart != nil || evil.Path != "/etc/systemd/system/evil.service" {
			t.Errorf("masked unit %+v", evil)
		}
		if app := byName["app.service"]; !app.Enabled || app.User != "app" {
			t.Errorf("app %+v", app)
		}
		if !byName["getty@.service"].Enabled || byName["cron.service"].Enabled {
			t.Errorf("enabled: getty@ %v cron %v", byName["getty@.service"].Enabled, byName["cron.service"].Enabled)
		}
	})

	t.Run("modules", func(t *testing.T) {
		if len(s.Modules) != 5 || s.Modules[3].Taints != "OE" {
			t.Errorf("modules %+v", s.Modules)
		}
		if !hasProblem(s, "module", "proc/modules") {
			t.Errorf("no problem for the broken modules line: %+v", s.Problems)
		}
	})
}

// hasProblem reports whether s has a problem of source whose path ends in
// path.
func hasProblem(s *Snapshot, source, path string) bool {
	for _, p := range s.Problems {
		if p.Source == source && strings.Contains(p.Path, path) {
			return true
		}
	}
	return false
}

func TestCollectDeterministic(t *testing.T) {
	root := fakeHost(t)
	var prev []byte
	for i := 0; i < 3; i++ {
		s, err := Collect(context.Background(), Options{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		items := s.Items()
		seen := map[[2]string]bool{}
		for j, it := range items {
			k := [2]string{it.Kind, it.Key}
			if seen[k] {
				t.Fatalf("duplicate key %v", k)
			}
			seen[k] = true
			if j > 0 && (items[j-1].Kind > it.Kind || items[j-1].Kind == it.Kind && items[j-1].Key >= it.Key) {
				t.Fatalf("items not sorted at %d: %v then %v", j, items[j-1].Key, it.Key)
			}
		}
		data, err := json.Marshal(struct {
			S     *Snapshot
			Items []Item
		}{s, items})
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && string(prev) != string(data) {
			t.Fatalf("collection %d differs from the previous one", i)
		}
		prev = data
	}
}

func TestCollectLimits(t *testing.T) {
	root := fakeHost(t)
	s, err := Collect(context.Background(), Options{Root: root, MaxProcesses: 1, MaxEntries: 2, MaxCmdline: 8, MaxFileSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Processes) != 1 || !reflect.DeepEqual(s.Processes[0].Cmdline, []string{"/sbin/in"}) || !s.Processes[0].CmdlineTruncated {
		t.Errorf("processes %+v", s.Processes)
	}
	if len(s.Users) != 2 || len(s.Services) > 2 || len(s.CronJobs) > 2 {
		t.Errorf("entry limits not applied: %d users, %d services, %d cron jobs", len(s.Users), len(s.Services), len(s.CronJobs))
	}
	if !hasProblem(s, "sudo", "/etc/sudoers") { // over 300 bytes
		t.Errorf("no problem for an oversized sudoers: %+v", s.Problems)
	}
	found := false
	for _, p := range s.Problems {
		found = found || strings.Contains(p.Err, ErrTooManyEntries.Error())
	}
	if !found {
		t.Errorf("no too-many-entries problem: %+v", s.Problems)
	}
}

func TestCollectEmptyRoot(t *testing.T) {
	s, err := Collect(context.Background(), Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) != 0 || len(s.Items()) != 0 {
		t.Errorf("empty root gave problems %+v and %d items", s.Problems, len(s.Items()))
	}
}

func TestCollectErrors(t *testing.T) {
	if _, err := Collect(context.Background(), Options{Root: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("no error for a missing root")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Collect(ctx, Options{Root: t.TempDir()}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestCollectSudoIncludeDepth(t *testing.T) {
	root := t.TempDir()
	tree{files: map[string]string{
		"etc/sudoers":  "#include /etc/s1\n",
		"etc/s1":       "#include s2\na1 ALL = ALL\n",
		"etc/s2":       "@include /etc/s3\na2 ALL = ALL\n",
		"etc/s3":       "a3 ALL = ALL\n",
		"etc/hostname": "h1.example\n",
	}}.build(t, root)
	s, err := Collect(context.Background(), Options{Root: root, MaxIncludeDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, r := range s.Sudoers {
		users = append(users, r.Users[0])
	}
	if want := []string{"a2", "a1"}; !reflect.DeepEqual(users, want) {
		t.Errorf("rules of %v, want %v", users, want)
	}
	want := Problem{Source: "sudo", Path: "/etc/s2", Line: 1, Err: `include of "/etc/s3": nested deeper than 2`}
	if !slicesContains(s.Problems, want) {
		t.Errorf("problems %+v, want %+v", s.Problems, want)
	}
	if s.Hostname != "h1.example" {
		t.Errorf("hostname %q from etc/hostname", s.Hostname)
	}
}

func slicesContains(ps []Problem, p Problem) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}
