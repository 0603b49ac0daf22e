package api

import (
	"net/http"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// Bounds of an acceptance.
const (
	maxAcceptIDs    = 1000
	maxAcceptReason = 2000
)

var findingsSpec = &listSpec{
	filters: []param{
		{name: "asset_id"}, {name: "kind"},
		{name: "status", desc: "new, open, fixed, reopened, accepted; a,b for either"},
		{name: "severity", desc: "critical, high, medium, low, ...; a,b for either"},
		{name: "rule_id"}, {name: "package"}, {name: "min_risk"},
	},
	sorts: []string{"risk", "first_seen", "last_seen", "severity"},
	desc:  true,
}

func (s *Server) findingsList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, findingsSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListFindings(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

func (s *Server) findingGet(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	f, err := s.st.Finding(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

// acceptRequest is the body of POST /findings/accept.
type acceptRequest struct {
	IDs     []string  `json:"ids" doc:"finding ids, 1-1000"`
	Reason  string    `json:"reason" doc:"why the risk is accepted"`
	Expires time.Time `json:"expires" doc:"when the acceptance lapses; in the future"`
}

// acceptResponse answers POST /findings/accept.
type acceptResponse struct {
	Accepted int `json:"accepted" doc:"findings changed (fixed ones are not)"`
}

// validate checks an acceptance at now.
func (a acceptRequest) validate(now time.Time) error {
	switch {
	case len(a.IDs) == 0:
		return invalidf("ids are required")
	case len(a.IDs) > maxAcceptIDs:
		return invalidf("at most %d ids", maxAcceptIDs)
	case a.Reason == "":
		return invalidf("reason is required")
	case len(a.Reason) > maxAcceptReason:
		return invalidf("reason must be at most %d bytes", maxAcceptReason)
	case a.Expires.IsZero():
		return invalidf("expires is required")
	case !a.Expires.After(now):
		return invalidf("expires must be in the future")
	}
	for _, id := range a.IDs {
		if id == "" || len(id) > 256 {
			return invalidf("ids must be 1-256 bytes each")
		}
	}
	return nil
}

func (s *Server) findingsAccept(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req acceptRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.validate(s.now()); err != nil {
		return err
	}
	if err := checkLabel("reason", req.Reason, maxAcceptReason); err != nil {
		return err
	}
	n, err := s.st.AcceptFindings(r.Context(), req.IDs, req.Reason, req.Expires, p.Actor())
	if err != nil {
		return err
	}
	target := "findings"
	if len(req.IDs) == 1 {
		target = "finding:" + req.IDs[0]
	}
	s.audit(r.Context(), r, p, actFindingAccept, target, map[string]any{
		"ids": req.IDs, "reason": req.Reason, "expires": req.Expires, "accepted": n,
	})
	writeJSON(w, http.StatusOK, acceptResponse{Accepted: n})
	return nil
}

var vulnsSpec = &listSpec{
	filters: []param{
		{name: "severity", desc: "a,b for either"},
		{name: "status", desc: "count only findings with it"},
		{name: "asset_id"}, {name: "min_risk"},
	},
	sorts: []string{"risk", "assets", "id"},
	desc:  true,
}

func (s *Server) vulnsList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, vulnsSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListVulnerabilities(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

var vulnFindingsSpec = &listSpec{
	filters: []param{
		{name: "asset_id"}, {name: "status"}, {name: "severity"}, {name: "package"}, {name: "min_risk"},
	},
	sorts: findingsSpec.sorts,
	desc:  true,
	fixed: []string{"kind", "rule_id"},
}

// vulnFindings serves GET /vulnerabilities/{id}: the findings of one
// vulnerability. An id with no finding at all is 404.
func (s *Server) vulnFindings(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	id := r.PathValue("id")
	o, err := listOptions(r, vulnFindingsSpec, map[string]string{"kind": "vulnerability", "rule_id": id})
	if err != nil {
		return err
	}
	ctx := r.Context()
	pg, err := s.st.ListFindings(ctx, o)
	if err != nil {
		return err
	}
	if len(pg.Items) == 0 && o.Cursor == "" {
		any1, err := s.st.ListFindings(ctx, store.ListOptions{
			Filter: map[string]string{"kind": "vulnerability", "rule_id": id}, Limit: 1,
		})
		if err != nil {
			return err
		}
		if len(any1.Items) == 0 {
			return errorf(http.StatusNotFound, codeNotFound, "no finding of vulnerability %q", id)
		}
	}
	writePage(w, r, pg)
	return nil
}
