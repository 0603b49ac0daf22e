package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// findingView is a finding's page: its facts, its thread and, for
// analysts, the status and comment forms.
type findingView struct {
	Finding    finding
	Match      match
	HasMatch   bool
	Comments   []comment
	More       bool // the thread has more than one page
	AcceptDate string
}

// maxComment bounds a comment form (the API checks it again).
const maxComment = 10000

// findingPage shows one finding with its comments: two API calls besides
// /me.
func (c *Console) findingPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if !validText(id) || len(id) > 256 {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	}
	v := findingView{AcceptDate: c.defaultExpiry()}
	if err := c.api.get(r, s.token, apiPath("findings", id), nil, &v.Finding); err != nil {
		return err
	}
	v.HasMatch = len(v.Finding.Data) > 0 && json.Unmarshal(v.Finding.Data, &v.Match) == nil
	// Everyone reads the thread; only analysts and admins add to it.
	var th page[comment]
	if err := c.api.get(r, s.token, apiPath("findings", id, "comments"), url.Values{"limit": {"200"}}, &th); err != nil {
		return err
	}
	v.Comments, v.More = th.Items, th.Next != ""
	title := v.Finding.Title
	if title == "" {
		title = v.Finding.RuleID
	}
	return c.show(w, r, s, "finding", "findings", title, v)
}

// commentPost adds a comment to a finding.
func (c *Console) commentPost(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	text := strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("text"), "\r\n", "\n"))
	if text == "" || len(text) > maxComment || !validText(strings.ReplaceAll(strings.ReplaceAll(text, "\n", " "), "\t", " ")) {
		return invalid(s, "comments.badText")
	}
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("findings", id, "comments"), nil, map[string]string{"text": text}, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.commented", 1)
	http.Redirect(w, r, "/findings/"+url.PathEscape(id)+"#comments", http.StatusSeeOther)
	return nil
}

// statusPost reopens an accepted finding.
func (c *Console) statusPost(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	f := r.PostForm
	reason := strings.TrimSpace(f.Get("reason"))
	if f.Get("status") != "open" {
		return invalid(s, "finding.badStatus")
	}
	if reason == "" || len(reason) > maxAcceptReason || !validText(strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", " "), "\n", " ")) {
		return invalid(s, "finding.badReason")
	}
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("findings", id, "status"), nil,
		map[string]string{"status": "open", "reason": reason}, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.reopened", 1)
	http.Redirect(w, r, "/findings/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}
