// Package store keeps the server's state: users, API tokens, the audit log,
// enrollment tokens, agents, assets with their packages and inventory
// items, findings with their lifecycle, and events.
//
// One implementation serves two SQL dialects: an embedded, pure-Go SQLite
// file (modernc.org/sqlite, WAL) by default, and PostgreSQL (pgx) when the
// server is given a postgres:// URL. Schema changes are numbered
// migrations applied at Open. Every exported method is safe for concurrent
// use.
//
// Lists share one shape: ListOptions (filters, a sort key, a page size and
// an opaque cursor) in, Page out. Unknown filter or sort keys are
// ErrInvalid, never silently ignored. Cursors are keyset cursors (the sort
// value and the id of the last row), so a page costs the same however deep
// it is.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors callers test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: already exists")
	ErrInvalid  = errors.New("store: invalid request") // bad filter, sort key, cursor or value
	// ErrEnrollToken is returned by UseEnrollToken for an unknown, expired,
	// revoked or used-up token; callers must not say which.
	ErrEnrollToken = errors.New("store: enrollment token not valid")
)

// Role is a user's role. Roles are ordered: admin > analyst > readonly.
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"
	RoleAnalyst  Role = "analyst"
	RoleReadOnly Role = "readonly"
)

// User is a person who signs in to the API or console.
type User struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"` // an encoded argon2id hash (internal/auth)
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Token is an API token or a login session: a bearer secret of which only
// the SHA-256 hash is stored.
type Token struct {
	ID     int64  `json:"id"`
	UserID int64  `json:"userId"`
	Name   string `json:"name"`
	// Session marks tokens made by logging in (short-lived), as opposed to
	// API tokens a user creates.
	Session    bool       `json:"session"`
	Hash       []byte     `json:"-"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// AuditEntry records one change made through the API or by the server.
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // "user:alice", "token:7", "agent:<id>", "server"
	Action string    `json:"action"` // "user.create", "finding.accept", ...
	Target string    `json:"target"` // what it changed: "user:3", "finding:f-…"
	// Detail holds the request's non-secret parameters.
	Detail json.RawMessage `json:"detail,omitempty"`
	Remote string          `json:"remote,omitempty"`
}

// EnrollToken lets hosts enroll agents until it expires, is revoked or
// has been used MaxUses times. Only its SHA-256 hash is stored.
type EnrollToken struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name"`
	Hash      []byte            `json:"-"`
	Labels    map[string]string `json:"labels,omitempty"` // given to agents enrolled with it
	ExpiresAt time.Time         `json:"expiresAt"`
	MaxUses   int               `json:"maxUses"` // 0: unlimited until expiry
	Uses      int               `json:"uses"`
	RevokedAt *time.Time        `json:"revokedAt,omitempty"`
	CreatedBy string            `json:"createdBy"`
	CreatedAt time.Time         `json:"createdAt"`
}

// Agent is one enrolled vigil-agent.
type Agent struct {
	ID       string            `json:"id"`
	Hostname string            `json:"hostname"`
	Version  string            `json:"version"`
	Labels   map[string]string `json:"labels,omitempty"`
	// AssetID is the host asset the agent reports for.
	AssetID    string    `json:"assetId"`
	EnrolledAt time.Time `json:"enrolledAt"`
	LastSeen   time.Time `json:"lastSeen"`
	// Heartbeat is the interval the agent promised; the server calls it
	// silent after twice that without a message.
	Heartbeat time.Duration `json:"heartbeat"`
	// Silent is set by the server's watchdog and cleared by the next message.
	Silent       bool       `json:"silent"`
	CertSerial   string     `json:"certSerial"`
	CertNotAfter time.Time  `json:"certNotAfter"`
	RevokedAt    *time.Time `json:"revokedAt,omitempty"`
	// LastSeq is the highest message sequence number committed for it.
	LastSeq uint64 `json:"lastSeq"`
	// Config is what the server pushes to the agent (intervals, caps).
	Config json.RawMessage `json:"config,omitempty"`
	// Stats are the agent's last reported counters and resource use
	// (spooled, replayed, dropped messages, CPU, RSS) as JSON.
	Stats json.RawMessage `json:"stats,omitempty"`
}

// The kinds of asset the server keeps (see internal/asset for the CLI's).
const (
	AssetHost      = "host"
	AssetContainer = "container"
	AssetImage     = "image"
	// AssetCluster is a Kubernetes cluster, kept by the server from its
	// nodes' cluster label (no agent owns it); its hosts are its children.
	AssetCluster = "cluster"
	// AssetRepository is a source tree scanned outside the fleet (vigil
	// scan config|secrets --upload): its findings come from uploads.
	AssetRepository = "repository"
)

// Asset is a host, container, image or cluster known to the server.
type Asset struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	AgentID  string `json:"agentId,omitempty"`
	ParentID string `json:"parentId,omitempty"` // a container's host, a node's cluster
	// Filterable facts.
	OS       string            `json:"os,omitempty"` // "debian 12"
	Platform string            `json:"platform,omitempty"`
	Cloud    string            `json:"cloud,omitempty"` // provider, "on-prem"
	Region   string            `json:"region,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Attrs holds the rest (kernel, IPs, cloud identity, image digest) as
	// JSON.
	Attrs     json.RawMessage `json:"attrs,omitempty"`
	FirstSeen time.Time       `json:"firstSeen"`
	LastSeen  time.Time       `json:"lastSeen"`
	// Gone is set when the asset disappeared from its agent's inventory.
	Gone bool `json:"gone"`
	// Risk is the highest open finding risk on the asset (0 when none).
	Risk float64 `json:"risk"`
}

// Package is one installed package of an asset.
type Package struct {
	AssetID   string `json:"assetId"`
	ID        string `json:"id"` // inventory.Package.ID, unique within the asset
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"`
	PURL      string `json:"purl,omitempty"`
	// Data is the whole inventory.Package as JSON: assessment re-reads it.
	Data json.RawMessage `json:"data,omitempty"`
}

// Item is one inventory record of a host other than a package: a process,
// listening port, user, group, sudo rule, cron job, service or kernel
// module (hostinv.Item), or a container/image summary. Key is unique
// within (AssetID, Kind).
type Item struct {
	AssetID string          `json:"assetId"`
	Kind    string          `json:"kind"`
	Key     string          `json:"key"`
	Data    json.RawMessage `json:"data"`
}

// Finding statuses.
const (
	StatusNew      = "new"      // first seen by the latest assessment
	StatusOpen     = "open"     // still present
	StatusFixed    = "fixed"    // absent from the latest assessment
	StatusReopened = "reopened" // present again after being fixed
	StatusAccepted = "accepted" // risk accepted until AcceptExpires
)

// Finding is one problem on one asset with its lifecycle. There is at most
// one per (AssetID, Kind, PackageID, RuleID); ID is finding.NewID of those.
type Finding struct {
	ID        string  `json:"id"`
	AssetID   string  `json:"assetId"`
	Kind      string  `json:"kind"` // finding.Kind
	PackageID string  `json:"packageId,omitempty"`
	RuleID    string  `json:"ruleId"` // the vulnerability id for vulnerabilities
	Severity  string  `json:"severity"`
	Risk      float64 `json:"risk"`
	Title     string  `json:"title"`
	// Package name and version, denormalised for lists and filters.
	Package        string `json:"package,omitempty"`
	PackageVersion string `json:"packageVersion,omitempty"`
	FixedVersion   string `json:"fixedVersion,omitempty"`
	Status         string `json:"status"`
	// Acceptance, when Status is accepted.
	AcceptReason  string     `json:"acceptReason,omitempty"`
	AcceptExpires *time.Time `json:"acceptExpires,omitempty"`
	AcceptedBy    string     `json:"acceptedBy,omitempty"`
	FirstSeen     time.Time  `json:"firstSeen"`
	LastSeen      time.Time  `json:"lastSeen"`
	FixedAt       *time.Time `json:"fixedAt,omitempty"`
	// Data is the engine's full record (a vuln.Match) as JSON.
	Data json.RawMessage `json:"data,omitempty"`
}

// Vulnerability groups the findings of one vulnerability id.
type Vulnerability struct {
	ID       string  `json:"id"`
	Severity string  `json:"severity"` // the highest among its findings
	Risk     float64 `json:"risk"`     // the highest among its findings
	Title    string  `json:"title"`
	Assets   int     `json:"assets"`   // assets with a new/open/reopened finding
	Packages int     `json:"packages"` // distinct package names affected
	Open     int     `json:"open"`     // findings new, open or reopened
	Accepted int     `json:"accepted"`
	Fixed    int     `json:"fixed"`
}

// Event is something an agent saw or the server decided (an agent went
// silent), in arrival order.
type Event struct {
	ID       int64           `json:"id"`
	AgentID  string          `json:"agentId,omitempty"`
	AssetID  string          `json:"assetId,omitempty"`
	Seq      uint64          `json:"seq,omitempty"` // the agent's message sequence number
	Time     time.Time       `json:"time"`
	Kind     string          `json:"kind"` // "process.exec", "agent.silent", ...
	Severity string          `json:"severity,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// Comment is one entry of a finding's thread: an analyst's note, or the
// record of a status change they made (Status set, Text the reason).
type Comment struct {
	ID        int64     `json:"id"`
	FindingID string    `json:"findingId"`
	Author    string    `json:"author"` // the actor: "user:alice", "token:7"
	Text      string    `json:"text"`
	Status    string    `json:"status,omitempty"` // the status set, when this records a change
	CreatedAt time.Time `json:"createdAt"`
}

// The kinds of notification channel.
const (
	ChannelWebhook  = "webhook"  // a JSON POST of the event
	ChannelEmail    = "email"    // SMTP
	ChannelDingTalk = "dingtalk" // DingTalk custom robot
	ChannelFeishu   = "feishu"   // Feishu/Lark custom bot
	ChannelWeCom    = "wecom"    // WeCom group robot
	ChannelSlack    = "slack"    // Slack incoming webhook
)

// ChannelKinds lists the kinds of notification channel.
var ChannelKinds = []string{ChannelWebhook, ChannelEmail, ChannelDingTalk, ChannelFeishu, ChannelWeCom, ChannelSlack}

// Channel is a notification channel: where the server sends new findings
// at or above MinSeverity and agent silences.
type Channel struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"` // one of ChannelKinds
	// Config holds the kind's settings as JSON (internal/notify reads it):
	// URLs, SMTP settings, signing secrets. The API never returns it.
	Config      json.RawMessage `json:"-"`
	MinSeverity string          `json:"minSeverity"`
	Enabled     bool            `json:"enabled"`
	CreatedBy   string          `json:"createdBy"`
	CreatedAt   time.Time       `json:"createdAt"`
	// The last delivery: when it succeeded, and the error of the last
	// failure ("" after a success).
	LastSentAt *time.Time `json:"lastSentAt,omitempty"`
	LastError  string     `json:"lastError,omitempty"`
}

// ListOptions selects one page of a list.
type ListOptions struct {
	// Filter maps a documented filter key of the list to a value; every
	// key must match (AND). A value "a,b" on an enumerated key matches
	// either. Unknown keys are ErrInvalid.
	Filter map[string]string
	// Sort is a documented sort key of the list ("" for its default);
	// Desc reverses it. Ties are broken by id. Text sorts in byte
	// (code point) order in both dialects. "since" filters are
	// inclusive, "until" filters exclusive.
	Sort string
	Desc bool
	// Limit caps the page size: 0 means 100, more than 1000 is 1000.
	Limit int
	// Cursor is Page.Next of the previous page ("" for the first page).
	// A cursor from another list or sort order is ErrInvalid.
	Cursor string
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T `json:"items"`
	// Next is the cursor of the following page, "" on the last page.
	Next string `json:"next,omitempty"`
}

// FindingsSync reports what a SyncFindings call changed.
type FindingsSync struct {
	New, Reopened, Fixed, Expired, Unchanged int
}

// Ingester applies one agent message inside the transaction Ingest opens.
// Everything it writes commits together with the agent's new LastSeq, or
// not at all.
type Ingester interface {
	// UpsertAsset creates or updates an asset by ID (FirstSeen is kept;
	// LastSeen set to a.LastSeen; Gone cleared).
	UpsertAsset(ctx context.Context, a Asset) error
	// MarkGone sets Gone on the agent's assets of a kind not in keep.
	MarkGone(ctx context.Context, agentID, kind string, keep []string) error
	// ReplacePackages makes pkgs the asset's whole package list.
	ReplacePackages(ctx context.Context, assetID string, pkgs []Package) error
	// PatchPackages adds (or replaces by ID) and removes packages by ID.
	PatchPackages(ctx context.Context, assetID string, upsert []Package, remove []string) error
	// ReplaceItems makes items the asset's whole list of inventory items
	// of the given kinds (kinds absent from items are emptied).
	ReplaceItems(ctx context.Context, assetID string, kinds []string, items []Item) error
	// PatchItems adds or replaces items by (Kind, Key) and removes the
	// given (Kind, Key) pairs.
	PatchItems(ctx context.Context, assetID string, upsert []Item, remove []Item) error
	// AddEvents appends events.
	AddEvents(ctx context.Context, events []Event) error
	// TouchAgent sets the agent's LastSeen, Version, Hostname (when not
	// empty) and clears Silent.
	TouchAgent(ctx context.Context, agentID string, seen time.Time, version, hostname string) error
}

// Store is the server's state. *DB implements it for SQLite and
// PostgreSQL; the interface lets the API and ingest layers take what they
// need.
type Store interface {
	Close() error
	// Dialect is "sqlite" or "postgres".
	Dialect() string

	// Users. Names are unique (ErrConflict).
	CreateUser(ctx context.Context, u User) (User, error)
	User(ctx context.Context, id int64) (User, error)
	UserByName(ctx context.Context, name string) (User, error)
	// ListUsers filters: name (exact), role (enumerated); sorts: name
	// (default), created.
	ListUsers(ctx context.Context, o ListOptions) (Page[User], error)
	// UpdateUser writes Role, PasswordHash and Disabled of u.ID.
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, id int64) error
	CountUsers(ctx context.Context) (int, error)

	// Tokens (API tokens and sessions).
	CreateToken(ctx context.Context, t Token) (Token, error)
	// TokenByHash returns the token whatever its expiry or revocation;
	// callers check both.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// TouchToken records a use (LastUsedAt). The store writes at most
	// once a minute per token (a touch within a minute of the recorded use
	// is dropped), so callers may touch on every request.
	TouchToken(ctx context.Context, id int64, at time.Time) error
	RevokeToken(ctx context.Context, id int64, at time.Time) error
	// ListTokens filters: user_id, session ("true"/"false"); sorts:
	// created (default).
	ListTokens(ctx context.Context, o ListOptions) (Page[Token], error)
	Token(ctx context.Context, id int64) (Token, error)

	// Audit log (append-only).
	Audit(ctx context.Context, e AuditEntry) error
	// ListAudit filters: actor, action, target, since, until (RFC 3339);
	// sorts: time (default, newest first when Desc).
	ListAudit(ctx context.Context, o ListOptions) (Page[AuditEntry], error)

	// Enrollment tokens.
	CreateEnrollToken(ctx context.Context, t EnrollToken) (EnrollToken, error)
	EnrollToken(ctx context.Context, id int64) (EnrollToken, error)
	// ListEnrollTokens filters: active ("true": not expired, revoked or
	// used up at Filter "now" or time.Now); sorts: created (default), expires.
	ListEnrollTokens(ctx context.Context, o ListOptions) (Page[EnrollToken], error)
	RevokeEnrollToken(ctx context.Context, id int64, at time.Time) error
	// UseEnrollToken atomically checks the token with this hash is valid
	// at now and counts one use, or returns ErrEnrollToken.
	UseEnrollToken(ctx context.Context, hash []byte, now time.Time) (EnrollToken, error)

	// Agents.
	CreateAgent(ctx context.Context, a Agent) (Agent, error)
	Agent(ctx context.Context, id string) (Agent, error)
	// ListAgents filters: hostname, version, silent, revoked ("true"/
	// "false"), label (k=v); sorts: hostname (default), last_seen, enrolled.
	ListAgents(ctx context.Context, o ListOptions) (Page[Agent], error)
	// SetAgentCert records a newly issued certificate.
	SetAgentCert(ctx context.Context, id, serial string, notAfter time.Time) error
	// RevokeAgent revokes the agent and every certificate issued to it.
	RevokeAgent(ctx context.Context, id string, at time.Time) error
	// SerialRevoked says whether a certificate serial was revoked (a
	// rotated-away serial is not revoked; a revoked agent's serials are).
	// A serial the store never recorded (CreateAgent, SetAgentCert) is
	// ErrNotFound, so callers refusing on any error fail closed.
	SerialRevoked(ctx context.Context, serial string) (bool, error)
	// AgentHeartbeat sets the agent's LastSeen and Stats (kept when stats
	// is empty) and clears Silent.
	AgentHeartbeat(ctx context.Context, id string, seen time.Time, stats json.RawMessage) error
	// AgentsSeen records many agents' liveness in batches: LastSeen
	// (never moved back), Stats when given, Silent cleared.
	AgentsSeen(ctx context.Context, seen []AgentSeen) error
	// SetAgentConfig stores the configuration pushed to the agent.
	SetAgentConfig(ctx context.Context, id string, config json.RawMessage) error
	// SilentAgents marks agents not revoked, not yet silent, whose LastSeen
	// is older than twice their Heartbeat at now, and returns them.
	SilentAgents(ctx context.Context, now time.Time) ([]Agent, error)

	// Ingest runs fn in one transaction for the agent's message seq and
	// sets the agent's LastSeq to seq, committing before it returns. A seq
	// not above LastSeq is a replay: fn does not run and duplicate is true.
	// Sequence numbers start at 1; when fn fails nothing it wrote is kept
	// and LastSeq is unchanged. fn must use only its Ingester, never the
	// Store (on SQLite the transaction holds the only write connection).
	Ingest(ctx context.Context, agentID string, seq uint64, fn func(Ingester) error) (duplicate bool, err error)
	// IngestBatch applies many agents' messages in one transaction, each
	// as Ingest would (deduplicated on (agent, seq), advancing LastSeq),
	// a failing message rolled back alone; see DB.IngestBatch.
	IngestBatch(ctx context.Context, msgs []IngestMessage) ([]IngestResult, error)

	// Assets.
	Asset(ctx context.Context, id string) (Asset, error)
	// ListAssets filters: kind, name (substring, case-insensitive), os,
	// cloud, region, agent_id, parent_id, label (k=v), gone ("true"/
	// "false", default false when absent), min_risk; sorts: name (default),
	// last_seen, first_seen, risk.
	ListAssets(ctx context.Context, o ListOptions) (Page[Asset], error)
	// AssetIDs returns the IDs of every asset that is not gone and has
	// packages, for re-assessment.
	AssetIDs(ctx context.Context) ([]string, error)
	// SetAssetRisk stores an asset's risk.
	SetAssetRisk(ctx context.Context, id string, risk float64) error

	// Packages: ListPackages filters: asset_id, name (exact), ecosystem,
	// purl; sorts: name (default), ecosystem. It leaves Data empty; ties
	// are broken by asset ID, then package ID.
	ListPackages(ctx context.Context, o ListOptions) (Page[Package], error)
	// AssetPackages returns all of an asset's packages with Data.
	AssetPackages(ctx context.Context, assetID string) ([]Package, error)
	// ListItems filters: asset_id, kind (required), key; sorts: key
	// (default).
	ListItems(ctx context.Context, o ListOptions) (Page[Item], error)

	// Findings.
	// SyncFindings applies one assessment of one asset for one finding
	// kind at now: findings in current become new (never seen), open
	// (seen and not fixed), reopened (were fixed) or stay accepted (until
	// AcceptExpires passes, then open); findings of that asset and kind
	// not in current become fixed. LastSeen, Severity, Risk, Title,
	// FixedVersion and Data are refreshed from current.
	// New and reopened are the statuses of the assessment that saw the
	// change: the next one makes them open. Fixed, reopened and expired
	// findings lose their acceptance. An unknown asset is ErrNotFound.
	SyncFindings(ctx context.Context, assetID, kind string, current []Finding, now time.Time) (FindingsSync, error)
	// PutAsset creates or updates an asset no agent owns (AgentID must be
	// empty), as Ingester.UpsertAsset does.
	PutAsset(ctx context.Context, a Asset) error
	Finding(ctx context.Context, id string) (Finding, error)
	// ListFindings filters: asset_id, kind, status (enumerated), severity
	// (enumerated), rule_id, package, min_risk; sorts: risk (default, use
	// Desc), first_seen, last_seen, severity.
	// Lists leave Data empty; Finding returns it.
	ListFindings(ctx context.Context, o ListOptions) (Page[Finding], error)
	// AcceptFindings sets status accepted with reason, expiry and who, on
	// every listed finding that is not fixed; it returns how many changed.
	// A zero expires accepts without expiry.
	AcceptFindings(ctx context.Context, ids []string, reason string, expires time.Time, by string) (int, error)
	// ListVulnerabilities groups findings of kind vulnerability by
	// RuleID. Filters: severity (enumerated), status (counts only
	// findings with it), asset_id, min_risk; sorts: risk (default),
	// assets, id.
	ListVulnerabilities(ctx context.Context, o ListOptions) (Page[Vulnerability], error)

	// Comments and analyst status changes of findings.
	// AddComment appends a comment to a finding's thread (ErrNotFound for
	// an unknown finding).
	AddComment(ctx context.Context, findingID, author, text string, at time.Time) (Comment, error)
	// ListComments filters: finding_id; sorts: created (default, oldest
	// first).
	ListComments(ctx context.Context, o ListOptions) (Page[Comment], error)
	// SetFindingStatus is an analyst's status change of one finding,
	// recorded in its thread with the reason. Only StatusOpen is set here
	// (reverting an acceptance: ErrConflict when the finding is not
	// accepted); acceptance, which carries an expiry, is AcceptFindings.
	SetFindingStatus(ctx context.Context, id, status, by, reason string, at time.Time) error

	// Notification channels. Names are unique (ErrConflict).
	CreateChannel(ctx context.Context, ch Channel) (Channel, error)
	Channel(ctx context.Context, id int64) (Channel, error)
	// ListChannels filters: kind, enabled ("true"/"false"); sorts: name
	// (default), created. Items carry their Config.
	ListChannels(ctx context.Context, o ListOptions) (Page[Channel], error)
	DeleteChannel(ctx context.Context, id int64) error
	// RecordDelivery notes a delivery to the channel at at: errText ""
	// for a success.
	RecordDelivery(ctx context.Context, id int64, at time.Time, errText string) error

	// Events. ListEvents filters: agent_id, asset_id, kind, severity,
	// since, until (RFC 3339); sorts: time (default; ties by id).
	AddEvents(ctx context.Context, events []Event) error
	ListEvents(ctx context.Context, o ListOptions) (Page[Event], error)

	// Overview counts open findings, live assets and agents, lists the
	// riskiest assets and the trend of the last days.
	Overview(ctx context.Context, now time.Time, days int) (Overview, error)
	// RecordTrend stores today's open-finding counts for the trend.
	RecordTrend(ctx context.Context, now time.Time) error

	// Meta keeps small server facts (the vulnerability database's build
	// time last assessed against).
	Meta(ctx context.Context, key string) (string, error) // ErrNotFound when unset
	SetMeta(ctx context.Context, key, value string) error
}
