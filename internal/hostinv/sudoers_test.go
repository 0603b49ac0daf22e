package hostinv

import (
	"reflect"
	"strings"
	"testing"
)

const debianSudoers = `#
# This file MUST be edited with the 'visudo' command as root.
#
Defaults	env_reset
Defaults	mail_badpass
Defaults	secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
Defaults	use_pty

# User privilege specification
root	ALL=(ALL:ALL) ALL

# Allow members of group sudo to execute any command
%sudo	ALL=(ALL:ALL) ALL

# See sudoers(5) for more information on "@include" directives:

@includedir /etc/sudoers.d
`

func TestParseSudoersDebian(t *testing.T) {
	entries, probs := parseSudoers([]byte(debianSudoers))
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	var rules []SudoRule
	var defs []SudoDefault
	var incs []sudoInclude
	for _, e := range entries {
		switch {
		case e.rule != nil:
			rules = append(rules, *e.rule)
		case e.defaults != nil:
			defs = append(defs, *e.defaults)
		case e.include != nil:
			incs = append(incs, *e.include)
		}
	}
	wantRules := []SudoRule{
		{Line: 10, Users: []string{"root"}, Hosts: []string{"ALL"}, RunAsUsers: []string{"ALL"}, RunAsGroups: []string{"ALL"}, Commands: []string{"ALL"}},
		{Line: 13, Users: []string{"%sudo"}, Hosts: []string{"ALL"}, RunAsUsers: []string{"ALL"}, RunAsGroups: []string{"ALL"}, Commands: []string{"ALL"}},
	}
	if !reflect.DeepEqual(rules, wantRules) {
		t.Errorf("rules\n got %+v\nwant %+v", rules, wantRules)
	}
	wantDefs := []SudoDefault{
		{Line: 4, Settings: []string{"env_reset"}},
		{Line: 5, Settings: []string{"mail_badpass"}},
		{Line: 6, Settings: []string{`secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"`}},
		{Line: 7, Settings: []string{"use_pty"}},
	}
	if !reflect.DeepEqual(defs, wantDefs) {
		t.Errorf("defaults\n got %+v\nwant %+v", defs, wantDefs)
	}
	if want := []sudoInclude{{line: 17, path: "/etc/sudoers.d", dir: true}}; !reflect.DeepEqual(incs, want) {
		t.Errorf("includes %+v, want %+v", incs, want)
	}
}

func TestParseSudoRule(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []SudoRule
	}{
		{
			name: "runas and tags carry over, continuation",
			in: "deploy web1, web2 = (www-data) NOPASSWD: /usr/bin/systemctl restart nginx, \\\n" +
				"    /usr/bin/systemctl reload nginx, (root) PASSWD: /usr/bin/apt-get update\n",
			want: []SudoRule{
				{Line: 1, Users: []string{"deploy"}, Hosts: []string{"web1", "web2"}, RunAsUsers: []string{"www-data"}, Tags: []string{"NOPASSWD"}, NoPasswd: true,
					Commands: []string{"/usr/bin/systemctl restart nginx", "/usr/bin/systemctl reload nginx"}},
				{Line: 1, Users: []string{"deploy"}, Hosts: []string{"web1", "web2"}, RunAsUsers: []string{"root"}, Tags: []string{"PASSWD"},
					Commands: []string{"/usr/bin/apt-get update"}},
			},
		},
		{
			name: "several host specs",
			in:   "alice ALL = /bin/ls : db01 = (postgres) NOPASSWD: ALL",
			want: []SudoRule{
				{Line: 1, Users: []string{"alice"}, Hosts: []string{"ALL"}, Commands: []string{"/bin/ls"}},
				{Line: 1, Users: []string{"alice"}, Hosts: []string{"db01"}, RunAsUsers: []string{"postgres"}, Tags: []string{"NOPASSWD"}, NoPasswd: true, Commands: []string{"ALL"}},
			},
		},
		{
			name: "numeric ids and trailing comment",
			in:   "#1000, %#27 ALL=(ALL) ALL # admins\n",
			want: []SudoRule{{Line: 1, Users: []string{"#1000", "%#27"}, Hosts: []string{"ALL"}, RunAsUsers: []string{"ALL"}, Commands: []string{"ALL"}}},
		},
		{
			name: "runas group only",
			in:   "bob ALL=(:adm) /usr/bin/tail /var/log/syslog",
			want: []SudoRule{{Line: 1, Users: []string{"bob"}, Hosts: []string{"ALL"}, RunAsGroups: []string{"adm"}, Commands: []string{"/usr/bin/tail /var/log/syslog"}}},
		},
		{
			name: "escaped comma and quoted empty args",
			in:   `carol ALL = /usr/bin/printf a\,b, /usr/bin/id ""`,
			want: []SudoRule{{Line: 1, Users: []string{"carol"}, Hosts: []string{"ALL"}, Commands: []string{"/usr/bin/printf a,b", `/usr/bin/id ""`}}},
		},
		{
			name: "digest",
			in:   "dave ALL = sha256:0123abcd /bin/ls",
			want: []SudoRule{{Line: 1, Users: []string{"dave"}, Hosts: []string{"ALL"}, Commands: []string{"sha256:0123abcd /bin/ls"}}},
		},
		{
			name: "options and several tags",
			in:   "erin ALL = (root) CWD=/srv TIMEOUT=1h NOPASSWD: SETENV: /usr/bin/backup",
			want: []SudoRule{{Line: 1, Users: []string{"erin"}, Hosts: []string{"ALL"}, RunAsUsers: []string{"root"}, Tags: []string{"NOPASSWD", "SETENV"}, NoPasswd: true,
				Options: []string{"CWD=/srv", "TIMEOUT=1h"}, Commands: []string{"/usr/bin/backup"}}},
		},
		{
			name: "negations",
			in:   "frank ALL = ALL, !/usr/bin/su, ! /bin/bash",
			want: []SudoRule{{Line: 1, Users: []string{"frank"}, Hosts: []string{"ALL"}, Commands: []string{"ALL", "!/usr/bin/su", "!/bin/bash"}}},
		},
		{
			name: "alias definition skipped, alias use kept",
			in:   "User_Alias ADMINS = alice, bob\nCmnd_Alias PKG = /usr/bin/apt\nADMINS ALL = (ALL) NOPASSWD: PKG\n",
			want: []SudoRule{{Line: 3, Users: []string{"ADMINS"}, Hosts: []string{"ALL"}, RunAsUsers: []string{"ALL"}, Tags: []string{"NOPASSWD"}, NoPasswd: true, Commands: []string{"PKG"}}},
		},
		{
			name: "quoted user with space",
			in:   `"%domain users" ALL = /bin/true`,
			want: []SudoRule{{Line: 1, Users: []string{"%domain users"}, Hosts: []string{"ALL"}, Commands: []string{"/bin/true"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, probs := parseSudoers([]byte(tt.in))
			if len(probs) != 0 {
				t.Errorf("problems: %v", probs)
			}
			var got []SudoRule
			for _, e := range entries {
				if e.rule != nil {
					got = append(got, *e.rule)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSudoDefaults(t *testing.T) {
	in := `Defaults:alice !authenticate
Defaults:alice, bob   !lecture
Defaults>root !set_logname
Defaults!/usr/bin/less noexec
Defaults@host1 log_year, logfile=/var/log/sudo.log
Defaults env_keep += "HOME EDITOR, X" # comment
Defaults
`
	entries, probs := parseSudoers([]byte(in))
	var got []SudoDefault
	for _, e := range entries {
		if e.defaults != nil {
			got = append(got, *e.defaults)
		}
	}
	want := []SudoDefault{
		{Line: 1, Binding: ":alice", Settings: []string{"!authenticate"}},
		{Line: 2, Binding: ":alice,bob", Settings: []string{"!lecture"}},
		{Line: 3, Binding: ">root", Settings: []string{"!set_logname"}},
		{Line: 4, Binding: "!/usr/bin/less", Settings: []string{"noexec"}},
		{Line: 5, Binding: "@host1", Settings: []string{"log_year", "logfile=/var/log/sudo.log"}},
		{Line: 6, Settings: []string{`env_keep += "HOME EDITOR, X"`}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
	if len(probs) != 1 || probs[0].line != 7 {
		t.Errorf("problems %v, want one at line 7", probs)
	}
}

func TestParseSudoersBadLines(t *testing.T) {
	in := `this is not a rule
alice ALL =
alice ALL = (root /bin/ls
alice ALL = "unterminated
alice ALL = /bin/ls,
ok ALL = /bin/true
alice ALL = /bin/ls extra ) junk
`
	entries, probs := parseSudoers([]byte(in))
	var lines []int
	for _, p := range probs {
		lines = append(lines, p.line)
	}
	if want := []int{1, 2, 3, 4, 5, 7}; !reflect.DeepEqual(lines, want) {
		t.Errorf("problem lines %v, want %v (%v)", lines, want, probs)
	}
	if len(entries) != 1 || entries[0].rule == nil || entries[0].rule.Users[0] != "ok" {
		t.Errorf("entries %+v, want only the rule of line 6", entries)
	}
}

func TestParseSudoInclude(t *testing.T) {
	tests := []struct {
		in   string
		want sudoInclude
		ok   bool
	}{
		{"#include /etc/sudoers.local", sudoInclude{path: "/etc/sudoers.local"}, true},
		{"#includedir /etc/sudoers.d", sudoInclude{path: "/etc/sudoers.d", dir: true}, true},
		{"@include\t\"/etc/with space\"", sudoInclude{path: "/etc/with space"}, true},
		{"@includedir", sudoInclude{}, false},
		{"# include /etc/x", sudoInclude{}, false},
		{"#includes /etc/x", sudoInclude{}, false},
	}
	for _, tt := range tests {
		got, ok := parseSudoInclude(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseSudoInclude(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestExpandSudoPath(t *testing.T) {
	if got := expandSudoPath("/etc/sudoers.%h.%%", "web1.example.com"); got != "/etc/sudoers.web1.%" {
		t.Errorf("got %q", got)
	}
}

func FuzzParseSudoers(f *testing.F) {
	f.Add([]byte(debianSudoers))
	f.Add([]byte("deploy web1, web2 = (www-data) NOPASSWD: /bin/a, \\\n /bin/b, (root) PASSWD: /bin/c : h = ALL\n"))
	f.Add([]byte("Defaults:alice,bob !authenticate, env_keep+=\"A B\"\n#include x\n@includedir y\n"))
	f.Add([]byte("erin ALL = (root:adm) CWD=/srv sha256:ab /bin/x \"\" \\, ! !ALL\n"))
	f.Add([]byte("\\\n\\\\\n\"#1 ( ) : = ,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _ := parseSudoers(data)
		for _, e := range entries {
			n := 0
			if e.rule != nil {
				n++
				r := e.rule
				if len(r.Users) == 0 || len(r.Hosts) == 0 || len(r.Commands) == 0 {
					t.Fatalf("incomplete rule %+v", r)
				}
				for _, c := range r.Commands {
					if strings.TrimSpace(c) == "" {
						t.Fatalf("empty command in %+v", r)
					}
				}
			}
			if e.defaults != nil {
				n++
				if len(e.defaults.Settings) == 0 {
					t.Fatalf("defaults without settings %+v", e.defaults)
				}
			}
			if e.include != nil {
				n++
				if e.include.path == "" {
					t.Fatal("include without path")
				}
			}
			if n != 1 {
				t.Fatalf("entry with %d parts", n)
			}
		}
	})
}
