package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

var (
	vulnsSpec = &listSpec{
		fields: []field{
			{name: "severity", kind: fMulti, values: severities},
			{name: "status", kind: fMulti, values: statuses},
			{name: "min_risk", kind: fRisk},
			{name: "asset_id", kind: fText},
		},
		sorts: []string{"risk", "assets", "id"},
		desc:  true,
	}
	vulnFindingsSpec = &listSpec{
		fields: []field{
			{name: "status", kind: fMulti, values: statuses},
			{name: "package", kind: fText},
			{name: "asset_id", kind: fText},
		},
		sorts: []string{"risk", "first_seen", "last_seen"},
		desc:  true,
	}
	findingsSpec = &listSpec{
		fields: []field{
			{name: "kind", kind: fEnum, values: []string{"vulnerability", "misconfiguration", "secret", "baseline", "alert"}},
			{name: "status", kind: fMulti, values: statuses},
			{name: "severity", kind: fMulti, values: severities},
			{name: "asset_id", kind: fText},
			{name: "rule_id", kind: fText},
			{name: "package", kind: fText},
			{name: "min_risk", kind: fRisk},
		},
		sorts: []string{"risk", "severity", "first_seen", "last_seen"},
		desc:  true,
	}
)

// vulnsPage lists vulnerabilities; a lookup box jumps to one by its id.
func (c *Console) vulnsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	if id := strings.TrimSpace(r.URL.Query().Get("lookup")); id != "" && validText(id) {
		http.Redirect(w, r, "/vulnerabilities/"+url.PathEscape(id), http.StatusSeeOther)
		return nil
	}
	lq := parseList(vulnsSpec, r.URL.Query())
	v, err := fetchList[vulnerability](c, r, s, lq, apiPath("vulnerabilities"), "/vulnerabilities", nil, nil)
	if err != nil {
		return err
	}
	return c.show(w, r, s, "vulns", "vulnerabilities", s.lang.t("nav.vulnerabilities"), v)
}

// vulnView is a vulnerability's page.
type vulnView struct {
	ID         string
	Findings   listView[finding]
	Detail     *finding // the first finding, with its data
	Match      match
	HasMatch   bool
	AcceptDate string
}

// vulnPage shows one vulnerability: its details (from one finding's
// data) and its findings, i.e. the affected assets and packages. Two API
// calls besides /me.
func (c *Console) vulnPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if !validText(id) {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	}
	path := "/vulnerabilities/" + url.PathEscape(id)
	lq := parseList(vulnFindingsSpec, r.URL.Query())
	lv, err := fetchList[finding](c, r, s, lq, apiPath("vulnerabilities", id), path, nil, nil)
	if err != nil {
		return err
	}
	v := vulnView{ID: id, Findings: lv, AcceptDate: c.defaultExpiry()}
	if len(lv.Items) > 0 {
		var f finding
		if err := c.api.get(r, s.token, apiPath("findings", lv.Items[0].ID), nil, &f); err != nil {
			return err
		}
		v.Detail = &f
		v.HasMatch = json.Unmarshal(f.Data, &v.Match) == nil && len(f.Data) > 0
	}
	return c.show(w, r, s, "vuln", "vulnerabilities", id, v)
}

// findingsView is the findings page's data.
type findingsView struct {
	listView[finding]
	AcceptDate string
}

func (c *Console) findingsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	lq := parseList(findingsSpec, r.URL.Query())
	lv, err := fetchList[finding](c, r, s, lq, apiPath("findings"), "/findings", nil, nil)
	if err != nil {
		return err
	}
	return c.show(w, r, s, "findings", "findings", s.lang.t("nav.findings"), findingsView{listView: lv, AcceptDate: c.defaultExpiry()})
}

// Bounds of an acceptance form (the API checks them again).
const (
	maxAcceptIDs    = 1000
	maxAcceptReason = 2000
	maxAcceptDays   = 3 * 366
)

// defaultExpiry is the acceptance form's default date: in 30 days.
func (c *Console) defaultExpiry() string {
	return c.now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
}

// acceptForm is a checked acceptance form.
type acceptForm struct {
	IDs     []string  `json:"ids"`
	Reason  string    `json:"reason"`
	Expires time.Time `json:"expires"`
}

// parseAccept reads the acceptance form: the ids ticked, a reason and
// the last day the acceptance holds (it lapses at the end of that day,
// UTC). problem is a catalog key when the form is not valid.
func parseAccept(form url.Values, now time.Time) (a acceptForm, problem string) {
	for _, id := range form["id"] {
		if id == "" || len(id) > 256 || !validText(id) {
			return a, "accept.badID"
		}
		a.IDs = append(a.IDs, id)
	}
	switch {
	case len(a.IDs) == 0:
		return a, "accept.noneSelected"
	case len(a.IDs) > maxAcceptIDs:
		return a, "accept.tooMany"
	}
	a.Reason = strings.TrimSpace(form.Get("reason"))
	if a.Reason == "" || len(a.Reason) > maxAcceptReason || !validText(strings.ReplaceAll(strings.ReplaceAll(a.Reason, "\r\n", " "), "\n", " ")) {
		return a, "accept.badReason"
	}
	d, ok := parseDate(form.Get("expires"))
	if !ok {
		return a, "accept.badDate"
	}
	a.Expires = d.AddDate(0, 0, 1)
	if !a.Expires.After(now) || a.Expires.Sub(now) > maxAcceptDays*24*time.Hour {
		return a, "accept.badDate"
	}
	return a, ""
}

func (c *Console) acceptPost(w http.ResponseWriter, r *http.Request, s *session) error {
	a, problem := parseAccept(r.PostForm, c.now())
	if problem != "" {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid", Message: s.lang.t(problem)}
	}
	var resp struct {
		Accepted int `json:"accepted"`
	}
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("findings", "accept"), nil, a, &resp); err != nil {
		return err
	}
	setFlash(w, r, "flash.accepted", resp.Accepted)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

var eventsSpec = &listSpec{
	fields: []field{
		{name: "kind", kind: fText},
		{name: "severity", kind: fMulti, values: severities},
		{name: "asset_id", kind: fText},
		{name: "agent_id", kind: fText},
		{name: "since", kind: fDate},
		{name: "until", kind: fUntil},
	},
	sorts: []string{"time"},
	desc:  true,
}

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	lq := parseList(eventsSpec, r.URL.Query())
	v, err := fetchList[event](c, r, s, lq, apiPath("events"), "/events", nil, nil)
	if err != nil {
		return err
	}
	return c.show(w, r, s, "events", "events", s.lang.t("nav.events"), v)
}
