package hostinv

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestItemsKeys(t *testing.T) {
	s := &Snapshot{
		Processes: []Process{{PID: 812, StartTicks: 1500, RSS: 1}, {PID: 1, StartTicks: 5}},
		Ports:     []Port{{Proto: "tcp6", Address: "::", Port: 22}},
		Users:     []User{{Name: "root"}, {Name: "alice"}},
		Groups:    []Group{{Name: "sudo"}},
		Sudoers: []SudoRule{
			{File: "/etc/sudoers", Line: 10, Users: []string{"root"}, Hosts: []string{"ALL"}, Commands: []string{"ALL"}},
			{File: "/etc/sudoers", Line: 12, Users: []string{"root"}, Hosts: []string{"ALL"}, Commands: []string{"ALL"}},
		},
		CronJobs: []CronJob{{File: "/etc/crontab", Line: 3, Schedule: "@daily", User: "root", Command: "x"}},
		Services: []Service{{Name: "ssh.service"}},
		Modules:  []Module{{Name: "ext4"}},
	}
	items := s.Items()
	var got []string
	for _, it := range items {
		got = append(got, it.Kind+" "+it.Key)
	}
	sudoKey := sudoRuleKey(s.Sudoers[0])
	want := []string{
		"cron /etc/crontab#" + contentHash("@daily", "root", "x"),
		"group sudo",
		"module ext4",
		"port tcp6/::/22",
		"process 1@5",
		"process 812@1500",
		"service ssh.service",
		"sudo " + sudoKey,
		"sudo " + sudoKey + "#2",
		"user alice",
		"user root",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
	if items[8].Data.(SudoRule).Line != 12 {
		t.Errorf("the renamed duplicate is not the later rule: %+v", items[8])
	}

	// Keys do not depend on volatile fields or line numbers.
	s.Processes[1].RSS = 99
	s.CronJobs[0].Line = 30
	s.Sudoers[0].Line = 1
	for i, it := range s.Items() {
		if it.Key != items[i].Key {
			t.Errorf("key %q changed to %q", items[i].Key, it.Key)
		}
	}
}

func TestItemsJSON(t *testing.T) {
	s := &Snapshot{Users: []User{{Name: "root", Home: "/root", Shell: "/bin/sh"}}}
	data, err := json.Marshal(s.Items())
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"kind":"user","key":"root","data":{"name":"root","uid":0,"gid":0,"home":"/root","shell":"/bin/sh"}}]`
	if string(data) != want {
		t.Errorf("got %s\nwant %s", data, want)
	}
}

func TestUniqueKeysCollision(t *testing.T) {
	// "a#2" exists already, so the second "a" must become "a#3".
	items := []Item{{Kind: "k", Key: "a"}, {Kind: "k", Key: "a"}, {Kind: "k", Key: "a#2"}, {Kind: "k", Key: "a!"}}
	sortItems(items)
	items = uniqueKeys(items)
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	if want := []string{"a", "a!", "a#2", "a#3"}; strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("keys %q, want %q", keys, want)
	}
}
