package hostinv

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Item kinds.
const (
	KindProcess     = "process"
	KindPort        = "port"
	KindUser        = "user"
	KindGroup       = "group"
	KindSudo        = "sudo"
	KindSudoDefault = "sudo_default"
	KindCron        = "cron"
	KindService     = "service"
	KindModule      = "module"
)

// Item is one inventory record in a generic, delta-friendly form.
type Item struct {
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Key identifies the record within its kind and stays the same across
	// collections while the record does not change identity:
	//
	//	process       "PID@STARTTICKS"
	//	port          "PROTO/ADDRESS/PORT"
	//	user, group   the name
	//	sudo, sudo_default, cron
	//	              "FILE#HASH", HASH covering the record's content but not
	//	              its line number
	//	service, module
	//	              the name
	//
	// Records with equal keys get "#2", "#3"… appended, in snapshot order.
	Key string `json:"key"`
	// Data is the typed record (Process, Port, User, …).
	Data any `json:"data"`
}

// Items returns every record of the snapshot as an Item, sorted by kind
// then key, keys unique within a kind.
func (s *Snapshot) Items() []Item {
	var items []Item
	add := func(kind, key string, data any) {
		items = append(items, Item{Kind: kind, Key: key, Data: data})
	}
	for _, p := range s.Processes {
		add(KindProcess, processKey(p), p)
	}
	for _, p := range s.Ports {
		add(KindPort, portKey(p), p)
	}
	for _, u := range s.Users {
		add(KindUser, u.Name, u)
	}
	for _, g := range s.Groups {
		add(KindGroup, g.Name, g)
	}
	for _, r := range s.Sudoers {
		add(KindSudo, sudoRuleKey(r), r)
	}
	for _, d := range s.SudoDefaults {
		add(KindSudoDefault, d.File+"#"+contentHash(d.Binding, strings.Join(d.Settings, "\x00")), d)
	}
	for _, j := range s.CronJobs {
		add(KindCron, j.File+"#"+contentHash(j.Schedule, j.User, j.Command), j)
	}
	for _, v := range s.Services {
		add(KindService, v.Name, v)
	}
	for _, m := range s.Modules {
		add(KindModule, m.Name, m)
	}
	sortItems(items)
	return uniqueKeys(items)
}

// uniqueKeys renames repeated keys of sorted items: the second "k" becomes
// "k#2", the third "k#3", skipping keys already taken; the result is sorted
// again if anything was renamed.
func uniqueKeys(items []Item) []Item {
	type id struct{ kind, key string }
	taken := make(map[id]bool, len(items))
	var dups []int
	for i, it := range items {
		if taken[id{it.Kind, it.Key}] {
			dups = append(dups, i)
		}
		taken[id{it.Kind, it.Key}] = true
	}
	for _, i := range dups {
		it := &items[i]
		for n := 2; ; n++ {
			k := it.Key + "#" + strconv.Itoa(n)
			if !taken[id{it.Kind, k}] {
				it.Key = k
				taken[id{it.Kind, k}] = true
				break
			}
		}
	}
	if len(dups) > 0 {
		sortItems(items)
	}
	return items
}

// sortItems orders items by kind then key, keeping the order of equals.
func sortItems(items []Item) {
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
}

// processKey identifies a process: its PID and start time.
func processKey(p Process) string {
	return strconv.Itoa(p.PID) + "@" + strconv.FormatUint(p.StartTicks, 10)
}

// sudoRuleKey identifies a sudo rule by its file and content.
func sudoRuleKey(r SudoRule) string {
	return r.File + "#" + contentHash(
		strings.Join(r.Users, ","), strings.Join(r.Hosts, ","),
		strings.Join(r.RunAsUsers, ","), strings.Join(r.RunAsGroups, ","),
		strings.Join(r.Tags, ","), strings.Join(r.Options, ","),
		strings.Join(r.Commands, "\x00"),
	)
}

// contentHash returns a short hash of parts, for keys of records that have
// no name of their own.
func contentHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
