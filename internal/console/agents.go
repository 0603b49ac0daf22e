package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

var agentsSpec = &listSpec{
	fields: []field{
		{name: "hostname", kind: fText},
		{name: "version", kind: fText},
		{name: "status", kind: fEnum, values: []string{"online", "silent", "revoked"}},
		{name: "label", kind: fText},
	},
	sorts: []string{"hostname", "last_seen", "enrolled"},
}

// agentRow is one agent with its state and parsed stats.
type agentRow struct {
	agent
	Status string // online, silent, revoked
	Stats  agentStats
}

// agentsView is the agents page's data.
type agentsView struct {
	listView[agentRow]
	// Enrollment tokens, for admins.
	Tokens     []enrollToken
	TokensMore bool
	AllTokens  bool
	// Created is set right after an enrollment token was made: its secret
	// and install command are shown this once.
	Created *enrollCreated
	TTLs    []string
}

// enrollTTLs are the lifetimes offered for enrollment tokens.
var enrollTTLs = []string{"1h", "24h", "168h", "720h"}

// agentsPage lists agents and, for admins, enrollment tokens (the newest
// 50). Two or three API calls besides /me.
func (c *Console) agentsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	return c.renderAgents(w, r, s, http.StatusOK, nil)
}

func (c *Console) renderAgents(w http.ResponseWriter, r *http.Request, s *session, status int, created *enrollCreated) error {
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		q = url.Values{}
	}
	lq := parseList(agentsSpec, q)
	extra := url.Values{}
	switch lq.Values["status"] {
	case "online":
		extra.Set("silent", "false")
		extra.Set("revoked", "false")
	case "silent":
		extra.Set("silent", "true")
		extra.Set("revoked", "false")
	case "revoked":
		extra.Set("revoked", "true")
	}
	apiQ := lq.api()
	apiQ.Del("status")
	for k, vs := range extra {
		apiQ[k] = vs
	}
	var pg page[agent]
	if err := c.api.get(r, s.token, apiPath("agents"), apiQ, &pg); err != nil {
		return err
	}
	v := agentsView{Created: created, TTLs: enrollTTLs, AllTokens: q.Get("tokens") == "all"}
	v.Q, v.Sorts, v.Limits = lq, lq.spec.sorts, limits
	if pg.Next != "" {
		v.Next = lq.link("/agents", pg.Next, nil)
	}
	if lq.Cursor != "" {
		v.First = lq.link("/agents", "", nil)
	}
	for _, a := range pg.Items {
		row := agentRow{agent: a, Stats: parseStats(a.Stats)}
		switch {
		case a.RevokedAt != nil:
			row.Status = "revoked"
		case a.Silent:
			row.Status = "silent"
		default:
			row.Status = "online"
		}
		v.Items = append(v.Items, row)
	}
	if s.CanAdmin() {
		tq := url.Values{"limit": {"50"}}
		if !v.AllTokens {
			tq.Set("active", "true")
		}
		var tp page[enrollToken]
		if err := c.api.get(r, s.token, apiPath("enrollment-tokens"), tq, &tp); err != nil {
			return err
		}
		v.Tokens, v.TokensMore = tp.Items, tp.Next != ""
	}
	c.render(w, r, status, "agents", &view{Lang: s.lang, Title: s.lang.t("nav.agents"), Nav: "agents", S: s, Path: "/agents", Page: v})
	return nil
}

func (c *Console) rescanPost(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("agents", r.PathValue("id"), "rescan"), nil, nil, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.rescan", 1)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

func (c *Console) agentRevokePost(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("agents", r.PathValue("id"), "revoke"), nil, nil, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.agentRevoked", 1)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

// enrollCreatePost creates an enrollment token and answers with the
// agents page showing its secret once (never in a URL or cookie).
func (c *Console) enrollCreatePost(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	name := strings.TrimSpace(f.Get("name"))
	ttl := f.Get("ttl")
	maxUses, err := strconv.Atoi(strings.TrimSpace(f.Get("maxUses")))
	if f.Get("maxUses") == "" {
		maxUses, err = 0, nil
	}
	labels, ok := parseLabels(f.Get("labels"))
	switch {
	case name == "" || !validText(name):
		return invalid(s, "enroll.badName")
	case !slices.Contains(enrollTTLs, ttl):
		return invalid(s, "enroll.badTTL")
	case err != nil || maxUses < 0 || maxUses > 1_000_000:
		return invalid(s, "enroll.badUses")
	case !ok:
		return invalid(s, "enroll.badLabels")
	}
	body := map[string]any{"name": name, "ttl": ttl, "maxUses": maxUses}
	if len(labels) > 0 {
		body["labels"] = labels
	}
	var created enrollCreated
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("enrollment-tokens"), nil, body, &created); err != nil {
		return err
	}
	return c.renderAgents(w, r, s, http.StatusCreated, &created)
}

func (c *Console) enrollRevokePost(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.token, http.MethodDelete, apiPath("enrollment-tokens", r.PathValue("id")), nil, nil, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.enrollRevoked", 1)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

// invalid is a form error with a translated message.
func invalid(s *session, key string) error {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: s.lang.t(key)}
}
