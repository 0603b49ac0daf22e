package main

import (
	"net/url"
	"time"
)

// A case is one console page (or one API call) requested N times. next
// cases are the page after the first of base: their path is the first
// page's next link (the console's) or cursor (the API's), found in the
// warm-up.
type benchCase struct {
	Group string `json:"group"`
	Name  string `json:"name"`
	Path  string `json:"path"`
	// API are the calls the page makes (besides /api/v1/me, which every
	// page makes), as the console sends them. A vulnerability's page also
	// reads its first finding (/api/v1/findings/{id}, measured with the
	// finding page).
	API []string `json:"api,omitempty"`
	// Next: Path is the first page; the next page is measured, and API
	// holds only the list call whose cursor that page follows.
	Next bool `json:"next,omitempty"`
}

// picks are the IDs the cases use, found through the API.
type picks struct {
	Host, HostAgent, Image, Container string
	PopularVuln, RiskiestVuln         string
	Package                           string
	Finding                           string    // the host's riskiest finding
	Day                               time.Time // the seeding day
}

// cases returns every case. The API paths carry the console's defaults:
// sort, order and limit=50.
func cases(p picks) []benchCase {
	q := url.QueryEscape
	host, img, ctr := "/assets/"+url.PathEscape(p.Host), "/assets/"+url.PathEscape(p.Image), "/assets/"+url.PathEscape(p.Container)
	since := p.Day.AddDate(0, 0, -7).Format(time.DateOnly)
	until := p.Day.AddDate(0, 0, -6).Format(time.DateOnly)
	sinceAPI := q(p.Day.AddDate(0, 0, -7).Format(time.RFC3339))
	untilAPI := q(p.Day.AddDate(0, 0, -5).Format(time.RFC3339))
	const v1 = "/api/v1"
	hostAPI := v1 + "/assets/" + url.PathEscape(p.Host)
	imgAPI := v1 + "/assets/" + url.PathEscape(p.Image)
	ctrAPI := v1 + "/assets/" + url.PathEscape(p.Container)
	vuln := "/vulnerabilities/" + url.PathEscape(p.PopularVuln)
	tokensAPI := v1 + "/enrollment-tokens?active=true&limit=50"
	cs := []benchCase{
		{Group: "overview", Name: "overview", Path: "/",
			API: []string{v1 + "/overview", v1 + "/vulnerabilities?limit=10&status=new%2Copen%2Creopened", v1 + "/events?limit=10&severity=critical%2Chigh"}},

		{Group: "assets", Name: "assets (by name)", Path: "/assets", API: []string{v1 + "/assets?limit=50&order=asc&sort=name"}},
		{Group: "assets", Name: "assets, page 2", Path: "/assets", Next: true, API: []string{v1 + "/assets?limit=50&order=asc&sort=name"}},
		{Group: "assets", Name: "assets by risk", Path: "/assets?sort=risk&order=desc", API: []string{v1 + "/assets?limit=50&order=desc&sort=risk"}},
		{Group: "assets", Name: "assets by risk, page 2", Path: "/assets?sort=risk&order=desc", Next: true, API: []string{v1 + "/assets?limit=50&order=desc&sort=risk"}},
		{Group: "assets", Name: "hosts in aws", Path: "/assets?kind=host&cloud=aws", API: []string{v1 + "/assets?cloud=aws&kind=host&limit=50&order=asc&sort=name"}},
		{Group: "assets", Name: "label env=prod", Path: "/assets?label=env%3Dprod", API: []string{v1 + "/assets?label=env%3Dprod&limit=50&order=asc&sort=name"}},
		{Group: "assets", Name: "label team=team-07, by risk", Path: "/assets?label=team%3Dteam-07&sort=risk&order=desc", API: []string{v1 + "/assets?label=team%3Dteam-07&limit=50&order=desc&sort=risk"}},
		{Group: "assets", Name: "name contains \"payments\"", Path: "/assets?name=payments", API: []string{v1 + "/assets?limit=50&name=payments&order=asc&sort=name"}},
		{Group: "assets", Name: "name matching nothing", Path: "/assets?name=no-such-asset", API: []string{v1 + "/assets?limit=50&name=no-such-asset&order=asc&sort=name"}},
		{Group: "assets", Name: "debian 12 in eu-west-1, last seen", Path: "/assets?os=debian+12&region=eu-west-1&sort=last_seen&order=desc",
			API: []string{v1 + "/assets?limit=50&order=desc&os=debian+12&region=eu-west-1&sort=last_seen"}},
		{Group: "assets", Name: "risk ≥ 90", Path: "/assets?min_risk=90&sort=risk&order=desc", API: []string{v1 + "/assets?limit=50&min_risk=90&order=desc&sort=risk"}},
		{Group: "assets", Name: "images, first seen", Path: "/assets?kind=image&sort=first_seen&order=desc", API: []string{v1 + "/assets?kind=image&limit=50&order=desc&sort=first_seen"}},
		{Group: "assets", Name: "gone", Path: "/assets?gone=true", API: []string{v1 + "/assets?gone=true&limit=50&order=asc&sort=name"}},

		{Group: "asset", Name: "host: findings tab", Path: host, API: []string{hostAPI, v1 + "/findings?asset_id=" + q(p.Host) + "&limit=50&order=desc&sort=risk"}},
		{Group: "asset", Name: "host: findings, critical open", Path: host + "?tab=findings&severity=critical&status=new,open,reopened",
			API: []string{hostAPI, v1 + "/findings?asset_id=" + q(p.Host) + "&limit=50&order=desc&severity=critical&sort=risk&status=new%2Copen%2Creopened"}},
		{Group: "asset", Name: "host: packages", Path: host + "?tab=packages", API: []string{hostAPI, hostAPI + "/packages?limit=50&order=asc&sort=name"}},
		{Group: "asset", Name: "host: containers", Path: host + "?tab=containers", API: []string{hostAPI, v1 + "/assets?limit=50&order=asc&parent_id=" + q(p.Host) + "&sort=name"}},
		{Group: "asset", Name: "host: events", Path: host + "?tab=events", API: []string{hostAPI, v1 + "/events?asset_id=" + q(p.Host) + "&limit=50&order=desc&sort=time"}},
	}
	for _, tab := range []string{"process", "port", "user", "group", "service", "cron", "sudo", "module"} {
		cs = append(cs, benchCase{Group: "asset", Name: "host: " + tab, Path: host + "?tab=" + tab,
			API: []string{hostAPI, hostAPI + "/items?kind=" + tab + "&limit=50&order=asc&sort=key"}})
	}
	cs = append(cs, []benchCase{
		{Group: "asset", Name: "image: findings tab", Path: img, API: []string{imgAPI, v1 + "/findings?asset_id=" + q(p.Image) + "&limit=50&order=desc&sort=risk"}},
		{Group: "asset", Name: "image: packages", Path: img + "?tab=packages", API: []string{imgAPI, imgAPI + "/packages?limit=50&order=asc&sort=name"}},
		{Group: "asset", Name: "container: findings tab", Path: ctr, API: []string{ctrAPI, v1 + "/findings?asset_id=" + q(p.Container) + "&limit=50&order=desc&sort=risk"}},

		{Group: "vulnerabilities", Name: "vulnerabilities (by risk)", Path: "/vulnerabilities", API: []string{v1 + "/vulnerabilities?limit=50&order=desc&sort=risk"}},
		{Group: "vulnerabilities", Name: "vulnerabilities, page 2", Path: "/vulnerabilities", Next: true, API: []string{v1 + "/vulnerabilities?limit=50&order=desc&sort=risk"}},
		{Group: "vulnerabilities", Name: "by affected assets", Path: "/vulnerabilities?sort=assets", API: []string{v1 + "/vulnerabilities?limit=50&order=desc&sort=assets"}},
		{Group: "vulnerabilities", Name: "critical", Path: "/vulnerabilities?severity=critical", API: []string{v1 + "/vulnerabilities?limit=50&order=desc&severity=critical&sort=risk"}},
		{Group: "vulnerabilities", Name: "risk ≥ 90", Path: "/vulnerabilities?min_risk=90", API: []string{v1 + "/vulnerabilities?limit=50&min_risk=90&order=desc&sort=risk"}},
		{Group: "vulnerabilities", Name: "status accepted", Path: "/vulnerabilities?status=accepted", API: []string{v1 + "/vulnerabilities?limit=50&order=desc&sort=risk&status=accepted"}},
		{Group: "vulnerabilities", Name: "status new (not a whole class)", Path: "/vulnerabilities?status=new", API: []string{v1 + "/vulnerabilities?limit=50&order=desc&sort=risk&status=new"}},
		{Group: "vulnerabilities", Name: "status open (not a whole class)", Path: "/vulnerabilities?status=open", API: []string{v1 + "/vulnerabilities?limit=50&order=desc&sort=risk&status=open"}},
		{Group: "vulnerabilities", Name: "of one host", Path: "/vulnerabilities?asset_id=" + q(p.Host), API: []string{v1 + "/vulnerabilities?asset_id=" + q(p.Host) + "&limit=50&order=desc&sort=risk"}},
		{Group: "vulnerability", Name: "most widespread vulnerability", Path: vuln,
			API: []string{v1 + vuln + "?limit=50&order=desc&sort=risk"}},
		{Group: "vulnerability", Name: "most widespread, page 2", Path: vuln, Next: true,
			API: []string{v1 + vuln + "?limit=50&order=desc&sort=risk"}},
		{Group: "vulnerability", Name: "most widespread, fixed", Path: vuln + "?status=fixed",
			API: []string{v1 + vuln + "?limit=50&order=desc&sort=risk&status=fixed"}},
		{Group: "vulnerability", Name: "riskiest vulnerability", Path: "/vulnerabilities/" + url.PathEscape(p.RiskiestVuln),
			API: []string{v1 + "/vulnerabilities/" + url.PathEscape(p.RiskiestVuln) + "?limit=50&order=desc&sort=risk"}},

		{Group: "finding", Name: "one finding with its comments", Path: "/findings/" + url.PathEscape(p.Finding),
			API: []string{v1 + "/findings/" + url.PathEscape(p.Finding), v1 + "/findings/" + url.PathEscape(p.Finding) + "/comments?limit=200"}},

		{Group: "findings", Name: "findings (by risk)", Path: "/findings", API: []string{v1 + "/findings?limit=50&order=desc&sort=risk"}},
		{Group: "findings", Name: "findings, page 2", Path: "/findings", Next: true, API: []string{v1 + "/findings?limit=50&order=desc&sort=risk"}},
		{Group: "findings", Name: "misconfigurations", Path: "/findings?kind=misconfiguration", API: []string{v1 + "/findings?kind=misconfiguration&limit=50&order=desc&sort=risk"}},
		{Group: "findings", Name: "secrets", Path: "/findings?kind=secret", API: []string{v1 + "/findings?kind=secret&limit=50&order=desc&sort=risk"}},
		{Group: "findings", Name: "critical open", Path: "/findings?severity=critical&status=new,open,reopened",
			API: []string{v1 + "/findings?limit=50&order=desc&severity=critical&sort=risk&status=new%2Copen%2Creopened"}},
		{Group: "findings", Name: "open, newest first", Path: "/findings?status=new,open,reopened&sort=first_seen",
			API: []string{v1 + "/findings?limit=50&order=desc&sort=first_seen&status=new%2Copen%2Creopened"}},
		{Group: "findings", Name: "accepted", Path: "/findings?status=accepted", API: []string{v1 + "/findings?limit=50&order=desc&sort=risk&status=accepted"}},
		{Group: "findings", Name: "fixed, last seen", Path: "/findings?status=fixed&sort=last_seen", API: []string{v1 + "/findings?limit=50&order=desc&sort=last_seen&status=fixed"}},
		{Group: "findings", Name: "one vulnerability", Path: "/findings?rule_id=" + q(p.PopularVuln), API: []string{v1 + "/findings?limit=50&order=desc&rule_id=" + q(p.PopularVuln) + "&sort=risk"}},
		{Group: "findings", Name: "one package", Path: "/findings?package=" + q(p.Package), API: []string{v1 + "/findings?limit=50&order=desc&package=" + q(p.Package) + "&sort=risk"}},
		{Group: "findings", Name: "one asset", Path: "/findings?asset_id=" + q(p.Host), API: []string{v1 + "/findings?asset_id=" + q(p.Host) + "&limit=50&order=desc&sort=risk"}},
		{Group: "findings", Name: "risk ≥ 90", Path: "/findings?min_risk=90", API: []string{v1 + "/findings?limit=50&min_risk=90&order=desc&sort=risk"}},
		{Group: "findings", Name: "newest first", Path: "/findings?sort=first_seen", API: []string{v1 + "/findings?limit=50&order=desc&sort=first_seen"}},
		{Group: "findings", Name: "by severity", Path: "/findings?sort=severity", API: []string{v1 + "/findings?limit=50&order=desc&sort=severity"}},
		{Group: "findings", Name: "critical, newest first", Path: "/findings?severity=critical&sort=first_seen",
			API: []string{v1 + "/findings?limit=50&order=desc&severity=critical&sort=first_seen"}},

		{Group: "events", Name: "events", Path: "/events", API: []string{v1 + "/events?limit=50&order=desc&sort=time"}},
		{Group: "events", Name: "events, page 2", Path: "/events", Next: true, API: []string{v1 + "/events?limit=50&order=desc&sort=time"}},
		{Group: "events", Name: "critical and high", Path: "/events?severity=critical,high", API: []string{v1 + "/events?limit=50&order=desc&severity=critical%2Chigh&sort=time"}},
		{Group: "events", Name: "one kind", Path: "/events?kind=alert.reverse_shell", API: []string{v1 + "/events?kind=alert.reverse_shell&limit=50&order=desc&sort=time"}},
		{Group: "events", Name: "one asset", Path: "/events?asset_id=" + q(p.Host), API: []string{v1 + "/events?asset_id=" + q(p.Host) + "&limit=50&order=desc&sort=time"}},
		{Group: "events", Name: "one agent", Path: "/events?agent_id=" + q(p.HostAgent), API: []string{v1 + "/events?agent_id=" + q(p.HostAgent) + "&limit=50&order=desc&sort=time"}},
		{Group: "events", Name: "one day a week ago", Path: "/events?since=" + since + "&until=" + until,
			API: []string{v1 + "/events?limit=50&order=desc&since=" + sinceAPI + "&sort=time&until=" + untilAPI}},

		{Group: "agents", Name: "agents", Path: "/agents", API: []string{v1 + "/agents?limit=50&order=asc&sort=hostname", tokensAPI}},
		{Group: "agents", Name: "agents, page 2", Path: "/agents", Next: true, API: []string{v1 + "/agents?limit=50&order=asc&sort=hostname"}},
		{Group: "agents", Name: "silent", Path: "/agents?status=silent", API: []string{v1 + "/agents?limit=50&order=asc&revoked=false&silent=true&sort=hostname", tokensAPI}},
		{Group: "agents", Name: "last seen", Path: "/agents?sort=last_seen&order=desc", API: []string{v1 + "/agents?limit=50&order=desc&sort=last_seen", tokensAPI}},

		{Group: "settings", Name: "users", Path: "/settings/users", API: []string{v1 + "/users?limit=50&order=asc&sort=name"}},
		{Group: "settings", Name: "API tokens", Path: "/settings/tokens", API: []string{v1 + "/tokens?limit=50&order=desc&session=false&sort=created"}},
		{Group: "settings", Name: "audit log", Path: "/settings/audit", API: []string{v1 + "/audit?limit=50&order=desc&sort=time"}},
		{Group: "settings", Name: "audit log, page 2", Path: "/settings/audit", Next: true, API: []string{v1 + "/audit?limit=50&order=desc&sort=time"}},
		{Group: "settings", Name: "notification channels", Path: "/settings/notifications", API: []string{v1 + "/notification-channels?limit=50&order=asc&sort=name"}},
		{Group: "settings", Name: "audit log, one action", Path: "/settings/audit?action=finding.accept", API: []string{v1 + "/audit?action=finding.accept&limit=50&order=desc&sort=time"}},
	}...)
	return cs
}
