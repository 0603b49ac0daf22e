package api

import (
	"errors"
	"net/http"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

var agentsSpec = &listSpec{
	filters: []param{
		{name: "hostname"}, {name: "version"},
		{name: "silent", desc: `"true" or "false"`},
		{name: "revoked", desc: `"true" or "false"`},
		{name: "label", desc: "k=v"},
	},
	sorts: []string{"hostname", "last_seen", "enrolled"},
}

func (s *Server) agentsList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, agentsSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListAgents(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

func (s *Server) agentGet(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	a, err := s.st.Agent(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// queued answers a request the server accepted for later.
type queued struct {
	Status string `json:"status" doc:"\"queued\""`
}

func (s *Server) agentRescan(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	a, err := s.st.Agent(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if a.RevokedAt != nil {
		return errorf(http.StatusConflict, codeConflict, "agent is revoked")
	}
	if s.o.Tasks == nil {
		return errorf(http.StatusServiceUnavailable, codeUnavailable, "agent tasks are not available")
	}
	if err := s.o.Tasks.Rescan(ctx, a.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		s.log.WarnContext(ctx, "rescan", "agent", a.ID, "err", err)
		return errorf(http.StatusServiceUnavailable, codeUnavailable, "could not reach the agent")
	}
	s.audit(ctx, r, p, actAgentRescan, agentTarget(a.ID), nil)
	writeJSON(w, http.StatusAccepted, queued{Status: "queued"})
	return nil
}

func (s *Server) agentRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	id := r.PathValue("id")
	a, err := s.st.Agent(ctx, id)
	if err != nil {
		return err
	}
	if a.RevokedAt != nil {
		return errorf(http.StatusConflict, codeConflict, "agent already revoked")
	}
	if err := s.st.RevokeAgent(ctx, id, s.now()); err != nil {
		return err
	}
	// The revocation stands whether or not live connections can be cut
	// now: revoked certificates are refused at the next handshake.
	if s.o.Tasks != nil {
		if err := s.o.Tasks.Revoke(ctx, id); err != nil {
			s.log.WarnContext(ctx, "disconnect revoked agent", "agent", id, "err", err)
		}
	}
	s.audit(ctx, r, p, actAgentRevoke, agentTarget(id), map[string]any{"hostname": a.Hostname})
	if a, err = s.st.Agent(ctx, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func agentTarget(id string) string { return "agent:" + id }
