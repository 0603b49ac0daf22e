package api

import (
	"net/http"

	"github.com/vigil-sec/vigil/internal/auth"
)

// trendDays is how far back the overview's trend reaches.
const trendDays = 30

// overview answers GET /overview.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := s.o.Store.Overview(r.Context(), s.o.Now(), trendDays)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}
