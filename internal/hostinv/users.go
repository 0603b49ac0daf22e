package hostinv

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// User is one account of etc/passwd. Accounts from other name services
// (LDAP, NIS, SSSD) are not seen.
type User struct {
	Name  string `json:"name"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Gecos string `json:"gecos,omitempty"`
	Home  string `json:"home,omitempty"`
	Shell string `json:"shell,omitempty"`
}

// Group is one group of etc/group.
type Group struct {
	Name    string   `json:"name"`
	GID     uint32   `json:"gid"`
	Members []string `json:"members,omitempty"`
}

func (c *collector) collectUsers(context.Context) {
	const name = "etc/passwd"
	data, ok := c.readFile("user", name)
	if !ok {
		return
	}
	users, probs := parsePasswd(data, c.opts.MaxEntries)
	c.snap.Users = users
	c.lineProblems("user", displayPath(name), probs)
}

func (c *collector) collectGroups(context.Context) {
	const name = "etc/group"
	data, ok := c.readFile("group", name)
	if !ok {
		return
	}
	groups, probs := parseGroup(data, c.opts.MaxEntries)
	c.snap.Groups = groups
	c.lineProblems("group", displayPath(name), probs)
}

// colonRecords calls fn with the colon-separated fields of every line of
// data that is neither blank nor a comment, and its line number.
func colonRecords(data []byte, fn func(line int, fields []string)) {
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(n, strings.Split(line, ":"))
	}
}

// parseID parses a user or group ID.
func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad id %q", truncate(s, 32))
	}
	return uint32(v), nil
}

// parsePasswd parses etc/passwd, keeping at most max users and the first of
// duplicate names. NIS "+"/"-" entries are reported, not kept.
func parsePasswd(data []byte, max int) ([]User, []lineProblem) {
	var users []User
	var probs []lineProblem
	seen := map[string]bool{}
	capped := false
	colonRecords(data, func(line int, f []string) {
		switch {
		case len(f) != 7:
			probs = addProblem(probs, line, fmt.Sprintf("passwd entry has %d fields, want 7", len(f)))
			return
		case f[0] == "" || f[0][0] == '+' || f[0][0] == '-':
			probs = addProblem(probs, line, fmt.Sprintf("unsupported passwd entry %q", truncate(f[0], 32)))
			return
		case seen[f[0]]:
			probs = addProblem(probs, line, fmt.Sprintf("duplicate user %q", truncate(f[0], 32)))
			return
		case len(users) >= max:
			if !capped {
				capped = true
				probs = addProblem(probs, line, ErrTooManyEntries.Error())
			}
			return
		}
		uid, err := parseID(f[2])
		if err != nil {
			probs = addProblem(probs, line, err.Error())
			return
		}
		gid, err := parseID(f[3])
		if err != nil {
			probs = addProblem(probs, line, err.Error())
			return
		}
		seen[f[0]] = true
		users = append(users, User{Name: f[0], UID: uid, GID: gid, Gecos: f[4], Home: f[5], Shell: f[6]})
	})
	return users, probs
}

// parseGroup parses etc/group, keeping at most max groups and the first of
// duplicate names.
func parseGroup(data []byte, max int) ([]Group, []lineProblem) {
	var groups []Group
	var probs []lineProblem
	seen := map[string]bool{}
	capped := false
	colonRecords(data, func(line int, f []string) {
		switch {
		case len(f) != 4:
			probs = addProblem(probs, line, fmt.Sprintf("group entry has %d fields, want 4", len(f)))
			return
		case f[0] == "" || f[0][0] == '+' || f[0][0] == '-':
			probs = addProblem(probs, line, fmt.Sprintf("unsupported group entry %q", truncate(f[0], 32)))
			return
		case seen[f[0]]:
			probs = addProblem(probs, line, fmt.Sprintf("duplicate group %q", truncate(f[0], 32)))
			return
		case len(groups) >= max:
			if !capped {
				capped = true
				probs = addProblem(probs, line, ErrTooManyEntries.Error())
			}
			return
		}
		gid, err := parseID(f[2])
		if err != nil {
			probs = addProblem(probs, line, err.Error())
			return
		}
		seen[f[0]] = true
		groups = append(groups, Group{Name: f[0], GID: gid, Members: splitList(f[3], ",")})
	})
	return groups, probs
}

// splitList splits s at sep, trimming space and dropping empty items.
func splitList(s, sep string) []string {
	var out []string
	for item := range strings.SplitSeq(s, sep) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// truncate shortens s to at most n bytes for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
