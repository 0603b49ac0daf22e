package console

import (
	"net/http"
	"net/url"
)

// overviewView is the overview page's data.
type overviewView struct {
	// Available is false while the API has no /overview: the counts,
	// agents and trend are then not shown.
	Available bool
	O         overview
	Kinds     []kindRow
	Bars      barChart
	Trend     colChart
	TopAssets []asset
	TopVulns  []vulnerability
	Alerts    []event
}

// kindRow is one finding kind's counts.
type kindRow struct {
	Kind   string
	Counts sevCounts
}

// overviewPage makes at most four API calls: the aggregate, top assets
// (only without the aggregate), top vulnerabilities and recent alerts.
func (c *Console) overviewPage(w http.ResponseWriter, r *http.Request, s *session) error {
	var v overviewView
	err := c.api.get(r, s.token, apiPath("overview"), nil, &v.O)
	switch {
	case err == nil:
		v.Available = true
		v.TopAssets = v.O.TopAssets
		labels := make([]string, len(findingKinds))
		counts := make([]sevCounts, len(findingKinds))
		for i, k := range findingKinds {
			labels[i] = s.lang.label("kind", k)
			counts[i] = v.O.Findings[k]
			v.Kinds = append(v.Kinds, kindRow{Kind: k, Counts: counts[i]})
		}
		v.Bars = newBarChart("sev-chart", labels, counts)
		days := make([]string, len(v.O.Trend))
		tc := make([]sevCounts, len(v.O.Trend))
		for i, d := range v.O.Trend {
			days[i], tc[i] = d.Day, d.sevCounts
		}
		v.Trend = newColChart("trend-chart", days, tc)
	case statusOf(err) == http.StatusNotFound:
		var pg page[asset]
		if err := c.api.get(r, s.token, apiPath("assets"), url.Values{"sort": {"risk"}, "order": {"desc"}, "limit": {"10"}}, &pg); err != nil {
			return err
		}
		v.TopAssets = pg.Items
	default:
		return err
	}
	var vp page[vulnerability]
	if err := c.api.get(r, s.token, apiPath("vulnerabilities"), url.Values{"status": {"new,open,reopened"}, "limit": {"10"}}, &vp); err != nil {
		return err
	}
	v.TopVulns = vp.Items
	var ep page[event]
	if err := c.api.get(r, s.token, apiPath("events"), url.Values{"severity": {"critical,high"}, "limit": {"10"}}, &ep); err != nil {
		return err
	}
	v.Alerts = ep.Items
	return c.show(w, r, s, "overview", "overview", s.lang.t("nav.overview"), v)
}
