package console

import (
	"encoding/json"
	"time"
)

// The API's JSON as the console reads it (the fields it shows). These
// mirror the API's wire format, not its Go types: the console depends on
// the REST contract only.

type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

type user struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"createdAt"`
}

type token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"userId"`
	Name       string     `json:"name"`
	Session    bool       `json:"session"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  time.Time  `json:"expiresAt"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
}

type me struct {
	User   user     `json:"user"`
	Role   string   `json:"role"`
	Scopes []string `json:"scopes"`
	Token  token    `json:"token"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

type asset struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	AgentID   string            `json:"agentId"`
	ParentID  string            `json:"parentId"`
	OS        string            `json:"os"`
	Platform  string            `json:"platform"`
	Cloud     string            `json:"cloud"`
	Region    string            `json:"region"`
	Labels    map[string]string `json:"labels"`
	Attrs     json.RawMessage   `json:"attrs"`
	FirstSeen time.Time         `json:"firstSeen"`
	LastSeen  time.Time         `json:"lastSeen"`
	Gone      bool              `json:"gone"`
	Risk      float64           `json:"risk"`
}

type pkg struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"`
	PURL      string `json:"purl"`
}

type item struct {
	Kind string          `json:"kind"`
	Key  string          `json:"key"`
	Data json.RawMessage `json:"data"`
}

type finding struct {
	ID             string          `json:"id"`
	AssetID        string          `json:"assetId"`
	Kind           string          `json:"kind"`
	RuleID         string          `json:"ruleId"`
	Severity       string          `json:"severity"`
	Risk           float64         `json:"risk"`
	Title          string          `json:"title"`
	Package        string          `json:"package"`
	PackageVersion string          `json:"packageVersion"`
	FixedVersion   string          `json:"fixedVersion"`
	Status         string          `json:"status"`
	AcceptReason   string          `json:"acceptReason"`
	AcceptExpires  *time.Time      `json:"acceptExpires"`
	AcceptedBy     string          `json:"acceptedBy"`
	FirstSeen      time.Time       `json:"firstSeen"`
	LastSeen       time.Time       `json:"lastSeen"`
	Data           json.RawMessage `json:"data"`
}

// match is what the console reads of a vulnerability finding's data (a
// vuln.Match).
type match struct {
	Aliases []string `json:"aliases"`
	Summary string   `json:"summary"`
	CVSS    *struct {
		Version string  `json:"version"`
		Vector  string  `json:"vector"`
		Score   float64 `json:"score"`
	} `json:"cvss"`
	EPSS *struct {
		Score      float64 `json:"score"`
		Percentile float64 `json:"percentile"`
	} `json:"epss"`
	KEV *struct {
		DateAdded          time.Time `json:"dateAdded"`
		RequiredAction     string    `json:"requiredAction"`
		KnownRansomwareUse bool      `json:"knownRansomwareUse"`
	} `json:"kev"`
	Fixed     []string `json:"fixed"`
	Reachable *bool    `json:"reachable"`
	Risk      struct {
		Score   float64  `json:"score"`
		Reasons []string `json:"reasons"`
	} `json:"risk"`
}

type vulnerability struct {
	ID       string  `json:"id"`
	Severity string  `json:"severity"`
	Risk     float64 `json:"risk"`
	Title    string  `json:"title"`
	Assets   int     `json:"assets"`
	Packages int     `json:"packages"`
	Open     int     `json:"open"`
	Accepted int     `json:"accepted"`
	Fixed    int     `json:"fixed"`
}

type event struct {
	ID       int64           `json:"id"`
	AgentID  string          `json:"agentId"`
	AssetID  string          `json:"assetId"`
	Time     time.Time       `json:"time"`
	Kind     string          `json:"kind"`
	Severity string          `json:"severity"`
	Data     json.RawMessage `json:"data"`
}

type agent struct {
	ID         string            `json:"id"`
	Hostname   string            `json:"hostname"`
	Version    string            `json:"version"`
	Labels     map[string]string `json:"labels"`
	AssetID    string            `json:"assetId"`
	EnrolledAt time.Time         `json:"enrolledAt"`
	LastSeen   time.Time         `json:"lastSeen"`
	Silent     bool              `json:"silent"`
	RevokedAt  *time.Time        `json:"revokedAt"`
	Stats      json.RawMessage   `json:"stats"`
}

// agentStats are an agent's last reported counters. Both the camelCase
// names and the protobuf field names are read.
type agentStats struct {
	CPUSeconds float64
	RSSBytes   uint64
	Spooled    uint64
	Dropped    uint64
	Known      bool
}

func parseStats(raw json.RawMessage) agentStats {
	var s struct {
		CPUSeconds  *float64 `json:"cpuSeconds"`
		CPUSeconds2 *float64 `json:"cpu_seconds"`
		RSSBytes    *uint64  `json:"rssBytes"`
		RSSBytes2   *uint64  `json:"rss_bytes"`
		Spooled     uint64   `json:"spooled"`
		Dropped     uint64   `json:"dropped"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return agentStats{}
	}
	out := agentStats{Spooled: s.Spooled, Dropped: s.Dropped, Known: true}
	switch {
	case s.CPUSeconds != nil:
		out.CPUSeconds = *s.CPUSeconds
	case s.CPUSeconds2 != nil:
		out.CPUSeconds = *s.CPUSeconds2
	}
	switch {
	case s.RSSBytes != nil:
		out.RSSBytes = *s.RSSBytes
	case s.RSSBytes2 != nil:
		out.RSSBytes = *s.RSSBytes2
	}
	return out
}

type enrollToken struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	ExpiresAt time.Time         `json:"expiresAt"`
	MaxUses   int               `json:"maxUses"`
	Uses      int               `json:"uses"`
	RevokedAt *time.Time        `json:"revokedAt"`
	CreatedBy string            `json:"createdBy"`
	CreatedAt time.Time         `json:"createdAt"`
}

type enrollCreated struct {
	Token           string      `json:"token"`
	EnrollmentToken enrollToken `json:"enrollmentToken"`
	InstallCommand  string      `json:"installCommand"`
}

type tokenCreated struct {
	Token    string `json:"token"`
	APIToken token  `json:"apiToken"`
}

type auditEntry struct {
	ID     int64           `json:"id"`
	Time   time.Time       `json:"time"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Detail json.RawMessage `json:"detail"`
	Remote string          `json:"remote"`
}

// sevCounts counts findings by severity.
type sevCounts struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Unknown  int `json:"unknown"`
}

// Total is the sum of every severity.
func (c sevCounts) Total() int { return c.Critical + c.High + c.Medium + c.Low + c.Unknown }

// of returns the count of one severity.
func (c sevCounts) of(sev string) int {
	switch sev {
	case "critical":
		return c.Critical
	case "high":
		return c.High
	case "medium":
		return c.Medium
	case "low":
		return c.Low
	}
	return c.Unknown
}

// overview is GET /api/v1/overview.
type overview struct {
	Findings map[string]sevCounts `json:"findings"`
	Assets   struct {
		Host      int `json:"host"`
		Container int `json:"container"`
		Image     int `json:"image"`
	} `json:"assets"`
	Agents struct {
		Total   int `json:"total"`
		Online  int `json:"online"`
		Silent  int `json:"silent"`
		Revoked int `json:"revoked"`
	} `json:"agents"`
	TopAssets []asset `json:"topAssets"`
	Trend     []struct {
		Day string `json:"day"`
		sevCounts
	} `json:"trend"`
}

type comment struct {
	ID        int64     `json:"id"`
	FindingID string    `json:"findingId"`
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
}

type channel struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	MinSeverity string     `json:"minSeverity"`
	Enabled     bool       `json:"enabled"`
	CreatedBy   string     `json:"createdBy"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastSentAt  *time.Time `json:"lastSentAt"`
	LastError   string     `json:"lastError"`
	Target      string     `json:"target"`
}
