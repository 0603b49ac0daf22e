package api

import (
	"net/http"

	"github.com/vigil-sec/vigil/internal/store"
)

// table is the API: every route, the access it needs, and what the
// OpenAPI document says of it. New registers exactly these.
func (s *Server) table() []route {
	const (
		get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
		v1                    = "/api/v1"
	)
	r := func(method, path string, access Access, id, tag, summary string, h handler) route {
		return route{Route: Route{Method: method, Path: path, Access: access, Summary: summary}, id: id, tag: tag, handle: h}
	}
	with := func(rt route, f func(*route)) route { f(&rt); return rt }
	list := func(rt route, spec *listSpec, item any) route {
		rt.list, rt.resp = spec, item
		return rt
	}
	return []route{
		// Public.
		with(r(get, "/healthz", Public, "health", "meta", "Liveness check", s.healthz),
			func(rt *route) { rt.resp = health{} }),
		with(r(get, v1+"/openapi.json", Public, "openapi", "meta", "This OpenAPI document", s.openapiDoc),
			func(rt *route) { rt.resp = map[string]any{} }),
		with(r(post, v1+"/login", Public, "login", "session", "Sign in: creates a session token", s.login),
			func(rt *route) { rt.body, rt.resp = loginRequest{}, loginResponse{} }),

		// Any signed-in principal.
		r(post, v1+"/logout", SignedIn, "logout", "session", "Sign out: revokes the calling session", s.logout),
		with(r(get, v1+"/me", SignedIn, "me", "session", "Who is calling, with the effective role and scopes", s.me),
			func(rt *route) { rt.resp = meResponse{} }),

		// Read.
		with(r(get, v1+"/overview", Read, "overview", "overview", "Open findings by kind and severity, assets, agents, riskiest assets, 30-day trend", s.overview),
			func(rt *route) { rt.resp = store.Overview{} }),
		list(r(get, v1+"/agents", Read, "listAgents", "agents", "List agents", s.agentsList), agentsSpec, store.Agent{}),
		with(r(get, v1+"/agents/{id}", Read, "getAgent", "agents", "Get an agent", s.agentGet),
			func(rt *route) { rt.resp = store.Agent{} }),
		list(r(get, v1+"/assets", Read, "listAssets", "assets", "List assets", s.assetsList), assetsSpec, store.Asset{}),
		with(r(get, v1+"/assets/{id}", Read, "getAsset", "assets", "Get an asset", s.assetGet),
			func(rt *route) { rt.resp = store.Asset{} }),
		list(r(get, v1+"/assets/{id}/packages", Read, "listAssetPackages", "assets", "List an asset's packages", s.assetPackages),
			assetPackagesSpec, store.Package{}),
		list(r(get, v1+"/assets/{id}/items", Read, "listAssetItems", "assets", "List an asset's inventory items of one kind", s.assetItems),
			itemsSpec, store.Item{}),
		list(r(get, v1+"/packages", Read, "listPackages", "assets", "List packages across assets", s.packagesList),
			packagesSpec, store.Package{}),
		list(r(get, v1+"/vulnerabilities", Read, "listVulnerabilities", "findings", "List vulnerabilities with their finding counts", s.vulnsList),
			vulnsSpec, store.Vulnerability{}),
		list(r(get, v1+"/vulnerabilities/{id}", Read, "listVulnerabilityFindings", "findings", "List the findings of one vulnerability", s.vulnFindings),
			vulnFindingsSpec, store.Finding{}),
		list(r(get, v1+"/findings", Read, "listFindings", "findings", "List findings", s.findingsList), findingsSpec, store.Finding{}),
		with(r(get, v1+"/findings/{id}", Read, "getFinding", "findings", "Get a finding", s.findingGet),
			func(rt *route) { rt.resp = store.Finding{} }),
		list(r(get, v1+"/events", Read, "listEvents", "events", "List events", s.eventsList), eventsSpec, store.Event{}),

		// Write.
		with(r(post, v1+"/findings/accept", Write, "acceptFindings", "findings", "Accept the risk of findings until a date", s.findingsAccept),
			func(rt *route) { rt.body, rt.resp = acceptRequest{}, acceptResponse{} }),
		list(r(get, v1+"/findings/{id}/comments", Read, "listFindingComments", "findings", "List a finding's comments and status changes, oldest first", s.commentsList),
			commentsSpec, store.Comment{}),
		with(r(post, v1+"/findings/{id}/comments", Write, "createFindingComment", "findings", "Comment on a finding", s.commentCreate),
			func(rt *route) { rt.body, rt.resp, rt.status = commentCreate{}, store.Comment{}, http.StatusCreated }),
		with(r(post, v1+"/findings/{id}/status", Write, "setFindingStatus", "findings", "Revert an accepted finding to open, with a reason", s.findingStatus),
			func(rt *route) { rt.body, rt.resp = statusChange{}, store.Finding{} }),
		with(r(post, v1+"/scans", Write, "uploadScan", "findings", "Upload a source tree's complete misconfiguration or secret findings (vigil scan config|secrets --upload): unlisted ones become fixed", s.scanUpload),
			func(rt *route) { rt.body, rt.resp = scanUpload{}, scanResult{} }),
		with(r(post, v1+"/agents/{id}/rescan", Write, "rescanAgent", "agents", "Ask an agent for a full inventory now", s.agentRescan),
			func(rt *route) { rt.resp, rt.status = queued{}, http.StatusAccepted }),
		list(r(get, v1+"/tokens", Write, "listTokens", "tokens", "List your API tokens and sessions (admins: anyone's)", s.tokensList),
			tokensSpec, store.Token{}),
		with(r(post, v1+"/tokens", Write, "createToken", "tokens", "Create an API token; its secret is returned once", s.tokenCreate),
			func(rt *route) { rt.body, rt.resp, rt.status = tokenCreate{}, tokenCreated{}, http.StatusCreated }),
		with(r(del, v1+"/tokens/{id}", Write, "revokeToken", "tokens", "Revoke one of your tokens (admins: anyone's)", s.tokenRevoke),
			func(rt *route) { rt.intID = true }),

		// Admin.
		list(r(get, v1+"/users", Admin, "listUsers", "users", "List users", s.usersList), usersSpec, store.User{}),
		with(r(post, v1+"/users", Admin, "createUser", "users", "Create a user", s.userCreate),
			func(rt *route) { rt.body, rt.resp, rt.status = userCreate{}, store.User{}, http.StatusCreated }),
		with(r(patch, v1+"/users/{id}", Admin, "updateUser", "users", "Change a user's role, password or disabled flag", s.userUpdate),
			func(rt *route) { rt.body, rt.resp, rt.intID = userPatch{}, store.User{}, true }),
		with(r(del, v1+"/users/{id}", Admin, "deleteUser", "users", "Delete a user and revoke their tokens", s.userDelete),
			func(rt *route) { rt.intID = true }),
		list(r(get, v1+"/audit", Admin, "listAudit", "audit", "Read the audit log", s.auditList), auditSpec, store.AuditEntry{}),
		list(r(get, v1+"/enrollment-tokens", Admin, "listEnrollmentTokens", "enrollment", "List enrollment tokens (never their secrets)", s.enrollList),
			enrollSpec, store.EnrollToken{}),
		with(r(post, v1+"/enrollment-tokens", Admin, "createEnrollmentToken", "enrollment", "Create an enrollment token; its secret is returned once", s.enrollCreate),
			func(rt *route) { rt.body, rt.resp, rt.status = enrollCreate{}, enrollCreated{}, http.StatusCreated }),
		with(r(del, v1+"/enrollment-tokens/{id}", Admin, "revokeEnrollmentToken", "enrollment", "Revoke an enrollment token", s.enrollRevoke),
			func(rt *route) { rt.intID = true }),
		list(r(get, v1+"/notification-channels", Admin, "listNotificationChannels", "notifications", "List notification channels (never their secrets)", s.channelsList),
			channelsSpec, channelView{}),
		with(r(post, v1+"/notification-channels", Admin, "createNotificationChannel", "notifications", "Create a notification channel", s.channelCreate),
			func(rt *route) { rt.body, rt.resp, rt.status = channelCreate{}, channelView{}, http.StatusCreated }),
		with(r(del, v1+"/notification-channels/{id}", Admin, "deleteNotificationChannel", "notifications", "Delete a notification channel", s.channelDelete),
			func(rt *route) { rt.intID = true }),
		with(r(post, v1+"/notification-channels/{id}/test", Admin, "testNotificationChannel", "notifications", "Send a test message to a notification channel", s.channelTest),
			func(rt *route) { rt.body, rt.resp, rt.intID = testRequest{}, testResult{}, true }),
		with(r(post, v1+"/agents/{id}/revoke", Admin, "revokeAgent", "agents", "Revoke an agent and its certificates", s.agentRevoke),
			func(rt *route) { rt.resp = store.Agent{} }),
	}
}
