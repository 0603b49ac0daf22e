package hostinv

import (
	"reflect"
	"strings"
	"testing"
)

const testPasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin

alice:x:1000:1000:Alice Example,,,:/home/alice:/bin/zsh
`

func TestParsePasswd(t *testing.T) {
	users, probs := parsePasswd([]byte(testPasswd), 100)
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	want := []User{
		{Name: "root", UID: 0, GID: 0, Gecos: "root", Home: "/root", Shell: "/bin/bash"},
		{Name: "daemon", UID: 1, GID: 1, Gecos: "daemon", Home: "/usr/sbin", Shell: "/usr/sbin/nologin"},
		{Name: "www-data", UID: 33, GID: 33, Gecos: "www-data", Home: "/var/www", Shell: "/usr/sbin/nologin"},
		{Name: "alice", UID: 1000, GID: 1000, Gecos: "Alice Example,,,", Home: "/home/alice", Shell: "/bin/zsh"},
	}
	if !reflect.DeepEqual(users, want) {
		t.Errorf("got %+v\nwant %+v", users, want)
	}
}

func TestParsePasswdProblems(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantUsers []string
		wantLines []int
	}{
		{"short line", "root:x:0:0:root:/root:/bin/bash\nbroken:x:1\n", []string{"root"}, []int{2}},
		{"bad uid", "a:x:-1:0::/:/bin/sh\nb:x:99999999999:0::/:/bin/sh\nc:x:1:1::/:/bin/sh\n", []string{"c"}, []int{1, 2}},
		{"nis entries", "+::::::\n-bob::::::\nroot:x:0:0::/root:/bin/sh\n", []string{"root"}, []int{1, 2}},
		{"duplicate", "root:x:0:0::/root:/bin/sh\nroot:x:5:5::/:/bin/sh\n", []string{"root"}, []int{2}},
		{"limit", "a:x:1:1::/:\nb:x:2:2::/:\nc:x:3:3::/:\nd:x:4:4::/:\n", []string{"a", "b"}, []int{3}},
		{"crlf", "root:x:0:0:root:/root:/bin/sh\r\n", []string{"root"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, probs := parsePasswd([]byte(tt.in), 2)
			var names []string
			for _, u := range users {
				names = append(names, u.Name)
			}
			var lines []int
			for _, p := range probs {
				lines = append(lines, p.line)
			}
			if !reflect.DeepEqual(names, tt.wantUsers) || !reflect.DeepEqual(lines, tt.wantLines) {
				t.Errorf("users %v problems at %v (%v); want %v at %v", names, lines, probs, tt.wantUsers, tt.wantLines)
			}
		})
	}
}

func TestParseGroup(t *testing.T) {
	in := "root:x:0:\nsudo:x:27:alice,bob\ndocker:x:999: alice , ,carol\nbad:x:notanumber:\nshort:x\n"
	groups, probs := parseGroup([]byte(in), 100)
	want := []Group{
		{Name: "root", GID: 0},
		{Name: "sudo", GID: 27, Members: []string{"alice", "bob"}},
		{Name: "docker", GID: 999, Members: []string{"alice", "carol"}},
	}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("got %+v\nwant %+v", groups, want)
	}
	if len(probs) != 2 || probs[0].line != 4 || probs[1].line != 5 {
		t.Errorf("problems %v, want lines 4 and 5", probs)
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte(testPasswd))
	f.Add([]byte("+::::::\nx:x:1:1:::\n:::::::\n"))
	f.Add([]byte("a:b:4294967295:4294967296:c:d:e\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, _ := parsePasswd(data, 50)
		if len(users) > 50 {
			t.Fatalf("%d users kept, limit 50", len(users))
		}
		seen := map[string]bool{}
		for _, u := range users {
			if u.Name == "" || seen[u.Name] || strings.Contains(u.Name, ":") {
				t.Fatalf("bad or duplicate user %q", u.Name)
			}
			seen[u.Name] = true
		}
	})
}

func FuzzParseGroup(f *testing.F) {
	f.Add([]byte("root:x:0:\nsudo:x:27:alice,bob\n"))
	f.Add([]byte("a:x:1:,,,\n:x:2:\n+:::\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, _ := parseGroup(data, 50)
		if len(groups) > 50 {
			t.Fatalf("%d groups kept, limit 50", len(groups))
		}
		seen := map[string]bool{}
		for _, g := range groups {
			if g.Name == "" || seen[g.Name] {
				t.Fatalf("bad or duplicate group %q", g.Name)
			}
			seen[g.Name] = true
			for _, m := range g.Members {
				if m == "" {
					t.Fatal("empty member")
				}
			}
		}
	})
}
