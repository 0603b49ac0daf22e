package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Audit actions.
const (
	actLoginOK       = "login.success"
	actLoginFail     = "login.fail"
	actLogout        = "logout"
	actUserCreate    = "user.create"
	actUserUpdate    = "user.update"
	actUserDelete    = "user.delete"
	actTokenCreate   = "token.create"
	actTokenRevoke   = "token.revoke"
	actEnrollCreate  = "enrollment_token.create"
	actEnrollRevoke  = "enrollment_token.revoke"
	actFindingAccept = "finding.accept"
	actAgentRescan   = "agent.rescan"
	actAgentRevoke   = "agent.revoke"
	actScanUpload    = "scan.upload"

	actFindingComment = "finding.comment"
	actFindingStatus  = "finding.status"
	actChannelCreate  = "notification_channel.create"
	actChannelDelete  = "notification_channel.delete"
	actChannelTest    = "notification_channel.test"
)

// audit appends one entry for a change already made. detail holds the
// request's non-secret parameters only: callers never put passwords or
// token secrets in it. The principal's credential is added as "via".
//
// A failed write is logged, not returned: the change it records has
// committed, and answering with an error would invite a retry that
// repeats it.
func (s *Server) audit(ctx context.Context, r *http.Request, p *auth.Principal, action, target string, detail map[string]any) {
	actor := "anonymous"
	if p != nil {
		actor = p.Actor()
		if detail == nil {
			detail = map[string]any{}
		}
		detail["via"] = p.Via()
	}
	var raw json.RawMessage
	if len(detail) > 0 {
		b, err := json.Marshal(detail)
		if err == nil {
			raw = b
		}
	}
	e := store.AuditEntry{
		Time:   s.now(),
		Actor:  actor,
		Action: action,
		Target: target,
		Detail: raw,
		Remote: remoteAddr(r),
	}
	if err := s.st.Audit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit write failed", "action", action, "target", target, "err", err)
	}
}

// auditList serves GET /audit.
func (s *Server) auditList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, auditSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListAudit(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

var auditSpec = &listSpec{
	filters: []param{
		{name: "actor", desc: `who: "user:alice", "agent:<id>", "server", "anonymous"`},
		{name: "action", desc: `what: "user.create", "finding.accept", ...`},
		{name: "target", desc: `what it changed: "user:3", ...`},
		{name: "since", desc: "RFC 3339 time, inclusive"},
		{name: "until", desc: "RFC 3339 time"},
	},
	sorts: []string{"time"},
	desc:  true,
}
