package api

import (
	"net/http"

	"github.com/vigil-sec/vigil/internal/auth"
)

var eventsSpec = &listSpec{
	filters: []param{
		{name: "agent_id"}, {name: "asset_id"},
		{name: "kind", desc: `"process.exec", "agent.silent", ...`},
		{name: "severity"},
		{name: "since", desc: "RFC 3339 time"},
		{name: "until", desc: "RFC 3339 time"},
	},
	sorts: []string{"time"},
	desc:  true,
}

func (s *Server) eventsList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, eventsSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListEvents(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}
