package console

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
)

var assetsSpec = &listSpec{
	fields: []field{
		{name: "kind", kind: fEnum, values: []string{"host", "container", "image", "cluster", "repository"}},
		{name: "name", kind: fText},
		{name: "os", kind: fText},
		{name: "environment", kind: fText},
		{name: "cloud", kind: fText},
		{name: "region", kind: fText},
		{name: "label", kind: fText},
		{name: "min_risk", kind: fRisk},
		{name: "gone", kind: fEnum, values: []string{"true"}},
	},
	sorts: []string{"name", "risk", "last_seen", "first_seen"},
}

func (c *Console) assetsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	lq := parseList(assetsSpec, r.URL.Query())
	v, err := fetchList[asset](c, r, s, lq, apiPath("assets"), "/assets", nil, nil)
	if err != nil {
		return err
	}
	return c.show(w, r, s, "assets", "assets", s.lang.t("nav.assets"), v)
}

// The asset page's tabs: findings, packages, inventory items by kind,
// containers (of a host) and events. One tab's list is read per request.
var (
	assetTabs = []string{"findings", "packages", "process", "port", "user", "group", "service", "cron", "sudo", "module", "containers", "events"}
	itemKinds = []string{"process", "port", "user", "group", "service", "cron", "sudo", "module"}

	assetFindingsSpec = &listSpec{
		fields: []field{
			{name: "kind", kind: fEnum, values: []string{"vulnerability", "misconfiguration", "secret", "baseline", "alert"}},
			{name: "status", kind: fMulti, values: statuses},
			{name: "severity", kind: fMulti, values: severities},
		},
		sorts: []string{"risk", "severity", "first_seen", "last_seen"},
		desc:  true,
	}
	packagesSpec = &listSpec{
		fields: []field{{name: "name", kind: fText}, {name: "ecosystem", kind: fText}},
		sorts:  []string{"name", "ecosystem"},
	}
	itemsSpec = &listSpec{
		fields: []field{{name: "key", kind: fText}},
		sorts:  []string{"key"},
	}
	containersSpec = &listSpec{
		fields: []field{{name: "name", kind: fText}},
		sorts:  []string{"name", "risk", "last_seen"},
	}
	assetEventsSpec = &listSpec{
		fields: []field{{name: "kind", kind: fText}, {name: "severity", kind: fMulti, values: severities}},
		sorts:  []string{"time"},
		desc:   true,
	}
)

// statuses are the finding statuses.
var statuses = []string{"new", "open", "reopened", "accepted", "fixed"}

// assetView is the asset page's data.
type assetView struct {
	A     asset
	Attrs []kv
	Tab   string
	Tabs  []string
	// One of these is set, by Tab.
	Findings   *listView[finding]
	Packages   *listView[pkg]
	Items      *listView[item]
	Table      *itemTable
	Containers *listView[asset]
	Events     *listView[event]
	AcceptDate string
}

// kv is one fact of a definition list.
type kv struct{ K, V string }

func (c *Console) assetPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if !validText(id) {
		return &apiError{Status: http.StatusNotFound, Code: "not_found", Message: "not found"}
	}
	v := assetView{Tab: r.URL.Query().Get("tab"), Tabs: assetTabs, AcceptDate: c.defaultExpiry()}
	if err := c.api.get(r, s.token, apiPath("assets", id), nil, &v.A); err != nil {
		return err
	}
	switch v.A.Kind {
	case "host":
	case "cluster":
		v.Tabs = []string{"hosts"}
	case "repository":
		v.Tabs = []string{"findings"}
	default:
		v.Tabs = []string{"findings", "packages", "events"}
	}
	if !slices.Contains(v.Tabs, v.Tab) {
		v.Tab = v.Tabs[0]
	}
	v.Attrs = attrFacts(v.A.Attrs)
	path := "/assets/" + url.PathEscape(id)
	keep := url.Values{"tab": {v.Tab}}
	q := r.URL.Query()
	var err error
	switch {
	case v.Tab == "findings":
		var lv listView[finding]
		lv, err = fetchList[finding](c, r, s, parseList(assetFindingsSpec, q), apiPath("findings"), path, url.Values{"asset_id": {id}}, keep)
		v.Findings = &lv
	case v.Tab == "packages":
		var lv listView[pkg]
		lv, err = fetchList[pkg](c, r, s, parseList(packagesSpec, q), apiPath("assets", id, "packages"), path, nil, keep)
		v.Packages = &lv
	case slices.Contains(itemKinds, v.Tab):
		var lv listView[item]
		lv, err = fetchList[item](c, r, s, parseList(itemsSpec, q), apiPath("assets", id, "items"), path, url.Values{"kind": {v.Tab}}, keep)
		v.Items = &lv
		t := newItemTable(v.Tab, lv.Items)
		v.Table = &t
	case v.Tab == "containers" || v.Tab == "hosts":
		var lv listView[asset]
		lv, err = fetchList[asset](c, r, s, parseList(containersSpec, q), apiPath("assets"), path, url.Values{"parent_id": {id}}, keep)
		v.Containers = &lv
	case v.Tab == "events":
		var lv listView[event]
		lv, err = fetchList[event](c, r, s, parseList(assetEventsSpec, q), apiPath("events"), path, url.Values{"asset_id": {id}}, keep)
		v.Events = &lv
	}
	if err != nil {
		return err
	}
	return c.show(w, r, s, "asset", "assets", v.A.Name, v)
}

// attrFacts lists an asset's attributes (kernel, IPs, cloud identity...)
// as facts, at most 24.
func attrFacts(raw json.RawMessage) []kv {
	var m map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return nil
	}
	var out []kv
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if len(out) == 24 {
			break
		}
		out = append(out, kv{K: k, V: truncate(scalar(m[k]), 300)})
	}
	return out
}

// itemColumns are the fields shown for each kind of inventory item;
// other kinds show the first fields of their records.
var itemColumns = map[string][]string{
	"process": {"pid", "ppid", "user", "name", "cmdline", "rssBytes", "state"},
	"port":    {"proto", "address", "port", "process", "pid"},
	"user":    {"name", "uid", "gid", "home", "shell"},
	"group":   {"name", "gid", "members"},
	"service": {"name", "enabled", "user", "type", "execStart", "description"},
	"cron":    {"schedule", "user", "command", "file"},
	"module":  {"name", "size", "refCount", "state"},
}

// itemTable is a page of inventory items as rows of text.
type itemTable struct {
	Cols []string
	Rows []itemRow
}

type itemRow struct {
	Key   string
	Cells []string
}

func newItemTable(kind string, items []item) itemTable {
	cols := itemColumns[kind]
	rows := make([]map[string]any, len(items))
	for i, it := range items {
		json.Unmarshal(it.Data, &rows[i]) // a non-object shows empty cells
	}
	if cols == nil {
		seen := map[string]bool{}
		for _, m := range rows {
			for k := range m {
				seen[k] = true
			}
		}
		cols = slices.Sorted(maps.Keys(seen))
		if len(cols) > 6 {
			cols = cols[:6]
		}
	}
	t := itemTable{Cols: cols}
	for i, it := range items {
		row := itemRow{Key: it.Key}
		for _, col := range cols {
			cell := ""
			if v, ok := rows[i][col]; ok {
				if f, isNum := v.(float64); isNum && col == "rssBytes" {
					cell = fmtBytes(uint64(max(f, 0)))
				} else {
					cell = truncate(scalar(v), 200)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
