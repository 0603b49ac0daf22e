package api

import (
	"net/http"

	"github.com/vigil-sec/vigil/internal/auth"
)

var assetsSpec = &listSpec{
	filters: []param{
		{name: "kind", desc: "host, container, image, cluster or repository"},
		{name: "name", desc: "substring, case-insensitive"},
		{name: "os"}, {name: "cloud"}, {name: "region"}, {name: "agent_id"}, {name: "parent_id"},
		{name: "label", desc: "k=v"},
		{name: "environment", desc: "the environment label (agents' --label environment=…), e.g. production"},
		{name: "gone", desc: `"true" or "false" (default false)`},
		{name: "min_risk", desc: "lowest risk"},
	},
	sorts: []string{"name", "last_seen", "first_seen", "risk"},
}

func (s *Server) assetsList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, assetsSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListAssets(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

func (s *Server) assetGet(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	a, err := s.st.Asset(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

var packagesSpec = &listSpec{
	filters: []param{
		{name: "asset_id"}, {name: "name", desc: "exact name"}, {name: "ecosystem"}, {name: "purl"},
	},
	sorts: []string{"name", "ecosystem"},
}

var assetPackagesSpec = &listSpec{
	filters: packagesSpec.filters[1:],
	sorts:   packagesSpec.sorts,
	fixed:   []string{"asset_id"},
}

func (s *Server) packagesList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, packagesSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListPackages(r.Context(), o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

func (s *Server) assetPackages(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := s.st.Asset(ctx, id); err != nil {
		return err
	}
	o, err := listOptions(r, assetPackagesSpec, map[string]string{"asset_id": id})
	if err != nil {
		return err
	}
	pg, err := s.st.ListPackages(ctx, o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}

var itemsSpec = &listSpec{
	filters: []param{
		{name: "kind", required: true, desc: "process, port, user, group, sudo, cron, service, module, container, image, ..."},
		{name: "key"},
	},
	sorts: []string{"key"},
	fixed: []string{"asset_id"},
}

func (s *Server) assetItems(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	ctx := r.Context()
	id := r.PathValue("id")
	o, err := listOptions(r, itemsSpec, map[string]string{"asset_id": id})
	if err != nil {
		return err
	}
	if o.Filter["kind"] == "" {
		return invalidf("query parameter kind is required")
	}
	if _, err := s.st.Asset(ctx, id); err != nil {
		return err
	}
	pg, err := s.st.ListItems(ctx, o)
	if err != nil {
		return err
	}
	writePage(w, r, pg)
	return nil
}
