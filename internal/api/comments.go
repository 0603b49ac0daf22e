package api

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of comments and status changes.
const (
	maxCommentText  = 10000
	maxStatusReason = 2000
)

var commentsSpec = &listSpec{
	sorts: []string{"created"},
	fixed: []string{"finding_id"},
}

// commentCreate is the body of POST /findings/{id}/comments.
type commentCreate struct {
	Text string `json:"text" doc:"the comment, 1-10000 bytes of text (line breaks allowed)"`
}

// statusChange is the body of POST /findings/{id}/status.
type statusChange struct {
	Status string `json:"status" enum:"open" doc:"open: revert an accepted finding (accept with POST /findings/accept)"`
	Reason string `json:"reason" doc:"why, 1-2000 bytes; recorded in the finding's comments"`
}

// commentsList serves GET /findings/{id}/comments: the finding's thread,
// oldest first. An unknown finding is 404.
func (s *Server) commentsList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	id := r.PathValue("id")
	o, err := listOptions(r, commentsSpec, map[string]string{"finding_id": id})
	if err != nil {
		return err
	}
	if _, err := s.st.Finding(r.Context(), id); err != nil {
		return err
	}
	pg, err := s.st.ListComments(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

// checkText requires non-empty valid UTF-8 of at most n bytes without
// control characters other than line breaks and tabs.
func checkText(field, v string, n int) error {
	if v == "" {
		return invalidf("%s is required", field)
	}
	if len(v) > n {
		return invalidf("%s must be at most %d bytes", field, n)
	}
	if !utf8.ValidString(v) {
		return invalidf("%s must be UTF-8 text", field)
	}
	for _, c := range v {
		if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f {
			return invalidf("%s must be printable text", field)
		}
	}
	return nil
}

func (s *Server) commentCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id := r.PathValue("id")
	var req commentCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := checkText("text", req.Text, maxCommentText); err != nil {
		return err
	}
	c, err := s.st.AddComment(r.Context(), id, p.Actor(), req.Text, s.now())
	if err != nil {
		return err
	}
	s.audit(r.Context(), r, p, actFindingComment, "finding:"+id, map[string]any{
		"commentId": strconv.FormatInt(c.ID, 10), "bytes": len(req.Text),
	})
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// findingStatus serves POST /findings/{id}/status: an analyst reverts an
// acceptance (409 when the finding is not accepted).
func (s *Server) findingStatus(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id := r.PathValue("id")
	var req statusChange
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Status != store.StatusOpen {
		return invalidf("status must be open (accept findings with POST /api/v1/findings/accept)")
	}
	if err := checkText("reason", req.Reason, maxStatusReason); err != nil {
		return err
	}
	ctx := r.Context()
	before, err := s.st.Finding(ctx, id)
	if err != nil {
		return err
	}
	if before.Status != store.StatusAccepted {
		return errorf(http.StatusConflict, codeConflict, "finding is %s, not accepted", before.Status)
	}
	if err := s.st.SetFindingStatus(ctx, id, req.Status, p.Actor(), req.Reason, s.now()); err != nil {
		return err
	}
	s.audit(ctx, r, p, actFindingStatus, "finding:"+id, map[string]any{
		"from": before.Status, "to": req.Status, "reason": req.Reason,
	})
	f, err := s.st.Finding(ctx, id)
	if err != nil {
		return err
	}
	f.Data = nil
	writeJSON(w, http.StatusOK, f)
	return nil
}
